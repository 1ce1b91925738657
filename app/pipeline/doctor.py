"""`doctor`: can this desk reach the task database, the S3 bucket and Druid? One verdict each."""

from __future__ import annotations

from dataclasses import dataclass

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
from app.services.store import SchemaError, StoreUnavailableError, TaskStore
from app.services.store.engine import display_url


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    message: str
    hint: str = ""


def check_database(settings: Settings) -> Check:
    url = settings.effective_database_url
    where = display_url(url)
    try:
        store = TaskStore.open(url, allow_upgrade=False)
    except SchemaError as exc:
        return Check("database", False, f"{where}: {exc}", "Run `ingest-desk db upgrade`.")
    except StoreUnavailableError as exc:
        return Check(
            "database",
            False,
            str(exc),
            "Check INGEST_DESK_DATABASE_URL (host, port, user) and that PostgreSQL is running.",
        )
    try:
        count = len(store.tasks.list_tasks(limit=1000))
    finally:
        store.close()
    kind = "PostgreSQL (shared)" if url.startswith("postgresql") else "embedded SQLite"
    return Check("database", True, f"{kind} at {where}, schema current, {count} task(s) seen.")


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
        return Check("s3", False, exc.user_message, "See the message above.")
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
        return Check("druid", False, str(exc), "See the message above.")
    return Check("druid", True, f"Druid {status.version} at {settings.druid_url}, S3 input loaded.")


def run_checks(settings: Settings) -> tuple[Check, ...]:
    return (check_database(settings), check_s3(settings), check_druid(settings))
