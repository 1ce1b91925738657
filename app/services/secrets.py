"""Connection secrets in the OS keyring (service "ingest-desk"); never in files, logs or the DB."""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass

import keyring
from keyring.errors import KeyringError, PasswordDeleteError
from sqlalchemy.engine import make_url

from app.services.settings import APP_NAME

log = logging.getLogger(__name__)

# The same service and user names the S3 credentials and the Druid client read
# (app.services.storage.credentials, app.services.druid.client); tests/test_secrets.py checks
# they agree. Spelled out here so saving a password does not import boto3 and httpx.
KEYRING_SERVICE = APP_NAME


class Secret(enum.StrEnum):
    DATABASE_PASSWORD = "database_password"
    S3_ACCESS_KEY_ID = "s3_access_key_id"
    S3_SECRET_ACCESS_KEY = "s3_secret_access_key"
    DRUID_PASSWORD = "druid_password"


class SecretStoreError(Exception):
    """The keyring refused or is unavailable; the message says which secret and why."""


@dataclass(frozen=True, slots=True)
class SecretChange:
    """One secret to write: a value stores it, None forgets it."""

    secret: Secret
    value: str | None


def get_secret(secret: Secret) -> str | None:
    """The stored value, or None when absent or when this machine has no usable keyring."""
    try:
        return keyring.get_password(KEYRING_SERVICE, secret.value)
    except KeyringError as exc:
        # The name of the secret is fine to log; its value never is.
        log.warning("cannot read %s from the keyring: %s", secret.value, type(exc).__name__)
        return None


def stored_secrets() -> frozenset[Secret]:
    """Which secrets the keyring holds (their values stay in the keyring)."""
    return frozenset(secret for secret in Secret if get_secret(secret))


def set_secret(secret: Secret, value: str | None) -> None:
    """Store `value`, or forget the secret when value is None or empty."""
    try:
        if value:
            keyring.set_password(KEYRING_SERVICE, secret.value, value)
            return
        # Nothing stored means forgetting it is already done.
        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, secret.value)
    except KeyringError as exc:
        backend = type(keyring.get_keyring()).__name__
        raise SecretStoreError(
            f"The OS keyring ({backend}) refused to save the {secret.value.replace('_', ' ')}: "
            f"{exc or type(exc).__name__}"
        ) from exc


def apply_secret_changes(changes: tuple[SecretChange, ...]) -> None:
    for change in changes:
        set_secret(change.secret, change.value)


def split_database_password(url: str) -> tuple[str, str | None]:
    """The URL without its password (for the settings file) and the password (for the keyring)."""
    parsed = make_url(url)
    if parsed.password is None:
        return url, None
    # URL.set() ignores None; URL is a named tuple, so _replace is how a field is cleared.
    bare = parsed._replace(password=None)
    return bare.render_as_string(hide_password=False), str(parsed.password)


def database_url_with_password(url: str, password: str | None = None) -> str:
    """The URL to connect with: the given or stored password added when the URL names a user
    and carries none. SQLite URLs and URLs that already hold a password are returned as is."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or not parsed.username or parsed.password:
        return url
    secret = password if password is not None else get_secret(Secret.DATABASE_PASSWORD)
    if not secret:
        return url
    return parsed.set(password=secret).render_as_string(hide_password=False)
