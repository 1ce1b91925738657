"""The Settings dialog's Test buttons: one quick read-only probe per connection, one verdict."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.services.druid import DruidAuthError, DruidError, DruidUnavailableError
from app.services.secrets import SecretStoreError, database_url_with_password
from app.services.settings import Settings
from app.services.store import SchemaError, StoreUnavailableError
from app.services.store import probe_database as look_at_database
from app.services.store.engine import display_url
from app.services.store.schema import head_revision, known_revisions

# A Test answers in seconds: one try, short timeouts. The pipeline keeps its patient retries.
_DRUID_TEST_TIMEOUT_S = 10.0


class Outcome(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"  # reachable and usable, but something needs attention
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """One Test's verdict: a sentence naming what was reached (or why not) and a next step."""

    service: str
    outcome: Outcome
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.FAILED


# -- task database ------------------------------------------------------------------------------


_BAD_URL_HINT = (
    "Use postgresql+psycopg://user@host:5432/database, or leave it empty for the embedded store."
)
_SERVER_HINT = "Check the host, port, database name and that the server is running."
# The driver's reason (libpq's first line) in plain words, with what to check; the first match
# wins, an unknown reason is shown as the driver gave it.
_PLAIN_REASONS: tuple[tuple[str, str, str], ...] = (
    ("connection refused",
     "the server refused the connection (nothing is listening on that port)",
     "Check that the database server is running and that the host and port are right."),
    ("password authentication failed", "the server did not accept the user name or password",
     "Check the user name and password (the password is kept in the OS keyring)."),
    ("no password supplied", "the server asks for a password and none is stored",
     "Enter the database password in Settings (it is kept in the OS keyring)."),
    ("does not exist", "", "Check the database name, or ask your administrator to create it."),
    ("could not translate host name", "the server's host name is not known",
     "Check the host name, and the network or VPN connection."),
    ("name or service not known", "the server's host name is not known",
     "Check the host name, and the network or VPN connection."),
    ("timeout expired", "the server did not answer in time",
     "Check the network or VPN connection, and that the server is running."),
    ("no route to host", "there is no network route to the server",
     "Check the network or VPN connection."),
    ("ssl", "", "Check the sslmode in the URL against what the server offers."),
)


def plain_reason(reason: str) -> tuple[str, str]:
    """The driver's reason as a user reads it, and a hint (what to check)."""
    first = reason.strip().splitlines()[0] if reason.strip() else "no answer"
    # libpq's framing ("connection failed: connection to server at …, port … failed: FATAL: ")
    # names what the message names already; the server's own words follow it.
    first = first.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip() or first
    lowered = first.lower()
    for marker, plain, hint in _PLAIN_REASONS:
        if marker in lowered:
            return plain or first, hint
    return first, _SERVER_HINT


def cannot_connect(where: str, reason: str) -> ConnectionCheck:
    """The verdict for a database that did not answer or refused us (Test and start-up alike)."""
    plain, hint = plain_reason(reason)
    return ConnectionCheck("database", Outcome.FAILED, f"Cannot connect to {where}: {plain}", hint)


def _not_a_url(reason: str) -> ConnectionCheck:
    return ConnectionCheck(
        "database", Outcome.FAILED, f"Not a usable database URL: {reason}", _BAD_URL_HINT
    )


def _url_problem(url: str) -> str | None:
    """What makes `url` unusable as a task database URL, in plain words; None if it looks fine."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme not in ("postgresql", "postgres", "sqlite"):
        named = f"'{parts.scheme}'" if parts.scheme else "missing"
        return f"the scheme is {named} (PostgreSQL or SQLite only)"
    try:
        parts.port  # noqa: B018 - urllib checks the port when it is read
    except ValueError:
        port = parts.netloc.rsplit(":", 1)[-1]
        return f"the port '{port}' is not a number"
    return None


def _server_named(url: str) -> str:
    """The server as a user names it: no driver name, never a password."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return f"the embedded task database {url.split(':///', 1)[-1]}"
    address = parts.netloc.rsplit("@", 1)[-1] or "localhost"
    database = parts.path.lstrip("/")
    about = [f"database {database}"] if database else []
    if parts.username:
        about.append(f"user {parts.username}")
    return f"the PostgreSQL server at {address}" + (f" ({', '.join(about)})" if about else "")


def describe_store_failure(url: str, error: BaseException) -> ConnectionCheck:
    """Why the task database at `url` did not open, in the Settings Test's words."""
    if url.startswith("sqlite") and isinstance(error, (StoreUnavailableError, OSError)):
        reason = error.reason if isinstance(error, StoreUnavailableError) else error.strerror
        return ConnectionCheck(
            "database", Outcome.FAILED,
            f"Cannot open {_server_named(url)}: {reason or type(error).__name__}",
            "Check that its folder exists and that you may write there.",
        )
    if isinstance(error, StoreUnavailableError):
        return cannot_connect(_server_named(url), error.reason)
    if isinstance(error, SchemaError):
        return ConnectionCheck("database", Outcome.FAILED, str(error))
    if isinstance(error, SecretStoreError):
        return ConnectionCheck(
            "database", Outcome.FAILED, str(error),
            "Check the OS keyring, or enter the password in Settings again.",
        )
    problem = _url_problem(url)
    if problem is not None:
        return _not_a_url(problem)
    if isinstance(error, ValueError):
        return _not_a_url(str(error))
    return cannot_connect(_server_named(url), _without_wrapper(str(error)))


def _without_wrapper(text: str) -> str:
    """An unexpected error's own words: no "(module.Class)" prefix, no help link after it."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if first.startswith("(") and ") " in first:
        first = first.split(") ", 1)[1]
    return first.split("(Background on this error", 1)[0].strip() or "no answer"


def probe_database(settings: Settings, password: str | None = None) -> ConnectionCheck:
    """Connect, read the server version and the schema revision; never creates or migrates.

    `password` is what the user typed and has not saved yet; None falls back to the keyring.
    """
    url = settings.effective_database_url
    try:
        found = look_at_database(database_url_with_password(url, password or None))
    except ValueError as exc:
        return _not_a_url(str(exc))
    if found.bad_url is not None:
        return _not_a_url(found.bad_url)
    if found.error is not None or found.version is None:
        # Named as the user wrote it (no masked password they did not type into the URL).
        return cannot_connect(display_url(url), found.error or "no answer")
    return _schema_verdict(found.version, found.revision, shared=not url.startswith("sqlite"))


def _schema_verdict(version: str, revision: str | None, *, shared: bool) -> ConnectionCheck:
    head = head_revision()
    if revision == head:
        return ConnectionCheck("database", Outcome.OK, f"Connected: {version}, schema up to date")
    if revision is not None and revision not in known_revisions():
        return ConnectionCheck(
            "database", Outcome.FAILED,
            f"Connected: {version}, but its task schema ({revision}) is newer than this app.",
            "Update Ingest Desk before using this database; nothing was changed.",
        )
    if revision is None and not shared:
        return ConnectionCheck(
            "database", Outcome.OK,
            f"Ready: embedded {version}; the task tables are created on first use",
        )
    state = "has no task tables yet" if revision is None else f"has schema {revision}"
    return ConnectionCheck(
        "database", Outcome.WARNING,
        f"Connected: {version}; the database {state} (this app needs {head}).",
        "Ingest Desk upgrades it on connect when this account may alter tables; otherwise an "
        "administrator runs `ingest-desk db upgrade` once.",
    )


# -- S3 -----------------------------------------------------------------------------------------


def probe_s3(
    settings: Settings,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> ConnectionCheck:
    """List one key under the prefix: proves the endpoint, the credentials and the bucket.

    A typed key pair (not saved yet) is used as is; otherwise the profile, the keyring pair or
    boto3's own chain, exactly as an upload would choose.
    """
    # boto3 loads when Test is pressed: the window imports this module for the Settings dialog.
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    from app.services.storage import (  # noqa: PLC0415
        RetryPolicy,
        S3BucketNotFoundError,
        S3Config,
        S3Uploader,
        StorageError,
        UploadOptions,
        make_client,
    )

    if not settings.s3_bucket:
        return ConnectionCheck("s3", Outcome.FAILED, "S3: no bucket is set.",
                               "Enter the bucket that staging files go to.")
    try:
        config = S3Config.from_settings(settings, connect_timeout_s=5.0, read_timeout_s=15.0)
        session = None
        if access_key_id and secret_access_key and not config.profile:
            # Only for trying keys before they are saved; uploads read them from the keyring.
            session = boto3.session.Session(
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                region_name=config.region,
            )
        client = make_client(config, session)
        one_try = UploadOptions(retry=RetryPolicy(attempts=1, connect_attempts=1))
        uploader = S3Uploader(client, config, one_try)
        uploader.check_bucket()
    except S3BucketNotFoundError:
        return ConnectionCheck(
            "s3", Outcome.FAILED,
            f"S3: bucket '{settings.s3_bucket}' not found at "
            f"{settings.s3_endpoint_url or 'AWS S3'}",
            "Check the bucket name and region, or create the bucket.",
        )
    except StorageError as exc:
        return ConnectionCheck("s3", Outcome.FAILED, f"S3: {exc}", exc.hint)
    except (BotoCoreError, ValueError) as exc:
        return ConnectionCheck("s3", Outcome.FAILED, f"S3: {exc}",
                               "Check the profile name and the endpoint URL.")
    return ConnectionCheck(
        "s3", Outcome.OK,
        f"S3: bucket '{config.bucket}' is open at {config.where}; files go under "
        f"{config.prefix.strip('/')}/",
    )


# -- Druid --------------------------------------------------------------------------------------


def _unreachable_reason(exc: DruidUnavailableError) -> str:
    # "Druid at URL did not answer GET /status (1 tries): could not connect: ..." -> the reason.
    text = str(exc)
    return text.split("): ", 1)[1] if "): " in text else text


def probe_druid(settings: Settings, password: str | None = None) -> ConnectionCheck:
    """Read the cluster's version and extensions through the router (one try, short timeout)."""
    # httpx loads when Test is pressed (see probe_s3).
    from app.services.druid import DruidClient, RetryPolicy, extension_problem  # noqa: PLC0415
    from app.services.druid.client import PARQUET_EXTENSION, S3_EXTENSION  # noqa: PLC0415

    if not settings.druid_url:
        return ConnectionCheck("druid", Outcome.FAILED, "Druid: no URL is set.",
                               "Enter the router's URL, e.g. https://druid.example.com")
    url = settings.druid_url
    quick = settings.model_copy(
        update={"druid_timeout_s": min(settings.druid_timeout_s, _DRUID_TEST_TIMEOUT_S)}
    )
    try:
        with DruidClient.from_settings(quick, password=password or None,
                                       retry=RetryPolicy(attempts=1)) as druid:
            status = druid.status()
    except DruidAuthError as exc:
        who = f"user '{settings.druid_username}'" if settings.druid_username else "no user"
        return ConnectionCheck(
            "druid", Outcome.FAILED,
            f"Druid at {url} refused {who} (HTTP {exc.status_code}): {exc.druid_message}",
            "Check the user name and password (the password is kept in the OS keyring).",
        )
    except DruidUnavailableError as exc:
        return ConnectionCheck(
            "druid", Outcome.FAILED, f"Cannot reach Druid at {url}: {_unreachable_reason(exc)}",
            "Check the URL points at the router (or the Overlord) and that Druid is running.",
        )
    except DruidError as exc:
        return ConnectionCheck("druid", Outcome.FAILED, f"Druid at {url}: {exc}")
    problem = extension_problem(status, settings.staging_format)
    if problem:
        return ConnectionCheck("druid", Outcome.FAILED, problem)
    loaded = S3_EXTENSION + (
        f" and {PARQUET_EXTENSION}" if settings.staging_format == "parquet" else ""
    )
    return ConnectionCheck("druid", Outcome.OK, f"Druid {status.version}, {loaded} loaded")
