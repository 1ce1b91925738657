"""The Settings dialog's Test buttons: one quick read-only probe per connection, one verdict."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.services.druid import DruidAuthError, DruidError, DruidUnavailableError
from app.services.secrets import SecretStoreError, database_url_with_password
from app.services.settings import Settings
from app.services.store import DatabaseUrlError, SchemaError, StoreUnavailableError
from app.services.store import probe_database as look_at_database
from app.services.store.diagnose import parse_database_url, unavailable
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


def cannot_connect(where: str, plain: str, hint: str) -> ConnectionCheck:
    """The verdict for a database that did not answer or refused us (Test and start-up alike);
    `plain` and `hint` come from the store's one mapping of driver faults (store.diagnose)."""
    return ConnectionCheck("database", Outcome.FAILED, f"Cannot connect to {where}: {plain}", hint)


def _not_a_url(error: DatabaseUrlError) -> ConnectionCheck:
    return ConnectionCheck(
        "database", Outcome.FAILED, f"Not a usable database URL: {error.reason}", error.hint
    )


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
    if isinstance(error, DatabaseUrlError):
        return _not_a_url(error)
    if isinstance(error, StoreUnavailableError):
        return cannot_connect(_server_named(url), error.plain, error.hint)
    if isinstance(error, SchemaError):
        return ConnectionCheck("database", Outcome.FAILED, str(error))
    if isinstance(error, SecretStoreError):
        return ConnectionCheck(
            "database", Outcome.FAILED, str(error),
            "Check the OS keyring, or enter the password in Settings again.",
        )
    # A driver fault that reached us unwrapped (after the store opened): the same mapping.
    try:
        parse_database_url(url)
    except DatabaseUrlError as bad:
        return _not_a_url(bad)
    mapped = unavailable(url, error)
    return cannot_connect(_server_named(url), mapped.plain, mapped.hint)


def probe_database(settings: Settings, password: str | None = None) -> ConnectionCheck:
    """Connect, read the server version and the schema revision; never creates or migrates.

    `password` is what the user typed and has not saved yet; None falls back to the keyring.
    """
    url = settings.effective_database_url
    try:
        parse_database_url(url)  # what is wrong with the URL, before the keyring is read
        found = look_at_database(database_url_with_password(url, password or None))
    except DatabaseUrlError as exc:
        return _not_a_url(exc)
    if found.bad_url is not None:
        return _not_a_url(DatabaseUrlError(found.bad_url, found.hint))
    if found.error is not None or found.version is None:
        # Named as the user wrote it (no masked password they did not type into the URL).
        return cannot_connect(
            display_url(url), found.plain or found.error or "no answer", found.hint
        )
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
