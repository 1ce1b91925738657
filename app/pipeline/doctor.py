"""`doctor`: can this desk reach the task database, the S3 bucket and Druid? One verdict each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.pipeline.database import connect_url
from app.services.druid import (
    DruidAuthError,
    DruidClient,
    DruidError,
    DruidExtensionMissingError,
    DruidUnavailableError,
)
from app.services.settings import Settings
from app.services.storage import (
    S3AccessDeniedError,
    S3BucketNotFoundError,
    S3Config,
    S3CredentialsError,
    S3EndpointUnreachableError,
    S3Uploader,
    StorageError,
    make_client,
)
from app.services.store import DatabaseUrlError, StoreError, TaskStore, probe_database
from app.services.store.schema import head_revision, known_revisions


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    message: str
    hint: str = ""


_UPGRADE = "Run `ingest-desk db upgrade` with an account that may create tables."


def check_database(settings: Settings) -> Check:
    """Read-only: the same URL and keyring password the window uses; creates nothing (a fresh
    embedded store is fine: its file and tables are made on first use)."""
    try:
        url = connect_url(settings)
    except DatabaseUrlError as exc:
        return Check("database", False, str(exc), exc.hint)
    found = probe_database(url)
    if found.bad_url is not None:
        return Check("database", False, f"Not a usable task database URL: {found.bad_url}",
                     found.hint)
    if found.error is not None or found.version is None:
        reason = found.plain or found.error or "no answer"
        return Check("database", False, f"Cannot reach the task database {found.where}: "
                     f"{reason}", found.hint)
    embedded = url.startswith("sqlite")  # the default file or one the settings name
    kind = "embedded SQLite" if embedded else "PostgreSQL (shared)"
    if found.not_created:
        return Check("database", True, f"{kind} at {found.where}: not created yet; the file "
                     "and its tables are made on first use.")
    head = head_revision()
    if found.revision is None and embedded:
        return Check("database", True, f"{kind} at {found.where}: no task tables yet; they "
                     "are made on first use.")
    if found.revision is None:
        return Check("database", False, f"{kind} at {found.where} has no task tables yet.",
                     _UPGRADE)
    if found.revision not in known_revisions():
        return Check("database", False, f"{kind} at {found.where} has schema "
                     f"{found.revision}, newer than this app ({head}).",
                     "Update Ingest Desk before using this database; nothing was changed.")
    if found.revision != head:
        return Check("database", False, f"{kind} at {found.where} has schema "
                     f"{found.revision}; this app needs {head}.", _UPGRADE)
    with TaskStore.open(url, allow_upgrade=False) as store:
        count = len(store.tasks.list_tasks(limit=1000))
    return Check("database", True, f"{kind} at {found.where} ({found.version}), schema "
                 f"current, {count} task(s) seen.")


def check_s3(settings: Settings) -> Check:
    if not settings.s3_bucket:
        return Check(
            "s3", False, "No S3 bucket is configured.",
            "Set INGEST_DESK_S3_BUCKET (and INGEST_DESK_S3_ENDPOINT_URL for S3-compatible stores).",
        )
    config = S3Config.from_settings(settings)
    try:
        S3Uploader(make_client(config), config).check_bucket()
    except S3CredentialsError as exc:
        hint = "Set AWS credentials (environment, profile) or store them in the keyring."
        return Check("s3", False, exc.user_message, hint)
    except S3AccessDeniedError as exc:
        return Check("s3", False, exc.user_message, "Grant s3:ListBucket and s3:PutObject.")
    except S3BucketNotFoundError as exc:
        hint = "Create the bucket or fix INGEST_DESK_S3_BUCKET."
        return Check("s3", False, exc.user_message, hint)
    except S3EndpointUnreachableError as exc:
        return Check("s3", False, exc.user_message, "Check INGEST_DESK_S3_ENDPOINT_URL.")
    except StorageError as exc:
        return Check("s3", False, str(exc), exc.hint or "See the message above.")
    where = f"s3://{config.bucket}/{config.prefix} at {config.where}"
    return Check("s3", True, f"Bucket {where} is open.")


def check_druid(settings: Settings) -> Check:
    if not settings.druid_url:
        return Check("druid", False, "No Druid URL is configured.", "Set INGEST_DESK_DRUID_URL.")
    try:
        with DruidClient.from_settings(settings) as druid:
            if not druid.health():
                return Check(
                    "druid", False, f"Druid at {settings.druid_url} answers but is not healthy.",
                    "Check the Druid services' logs.",
                )
            status = druid.require_extensions()
    except DruidExtensionMissingError as exc:
        return Check("druid", False, str(exc), "Load druid-s3-extensions on the Overlord.")
    except DruidAuthError as exc:
        return Check(
            "druid", False, str(exc),
            "Check INGEST_DESK_DRUID_USERNAME and the password stored in the keyring.",
        )
    except DruidUnavailableError as exc:
        return Check(
            "druid", False, f"Cannot reach Druid: {exc}",
            "Check INGEST_DESK_DRUID_URL points at the router (or Overlord) and it is running.",
        )
    except DruidError as exc:
        return Check("druid", False, str(exc), exc.hint or "See the message above.")
    return Check("druid", True, f"Druid {status.version} at {settings.druid_url}, S3 input loaded.")


# One function per thing to check, each answering with one Check; doctor runs them in order.
CHECKS: tuple[Callable[[Settings], Check], ...] = (check_database, check_s3, check_druid)


def _guarded(name: str, check: Callable[[Settings], Check], settings: Settings) -> Check:
    """A check that raised is a failed check with its reason, never a crashed doctor."""
    try:
        return check(settings)
    except (StoreError, StorageError, DruidError) as exc:
        return Check(name, False, str(exc), getattr(exc, "hint", "") or "")
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure and goes on
        return Check(name, False, f"The check itself failed: {type(exc).__name__}: {exc}",
                     "Please report this with the command's output.")


def run_checks(settings: Settings) -> tuple[Check, ...]:
    return tuple(
        _guarded(check.__name__.removeprefix("check_"), check, settings) for check in CHECKS
    )
