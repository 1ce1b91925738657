"""Connection secrets in the OS keyring (service "ingest-desk"); never in files, logs or the DB."""

from __future__ import annotations

import contextlib
import enum
import logging
from dataclasses import dataclass
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError
from sqlalchemy.engine import make_url

from app.services.settings import APP_NAME, Settings, save_settings

log = logging.getLogger(__name__)

# The same service and user names the S3 credentials and the Druid client read
# (app.services.storage.credentials, app.services.druid.client); tests/test_secrets.py checks
# they agree. Spelled out here so saving a password does not import boto3 and httpx.
KEYRING_SERVICE = APP_NAME

NO_KEYRING = (
    "This computer has no OS keyring to keep passwords in (such as GNOME Keyring, KWallet, the "
    "Windows Credential Manager or the macOS Keychain)."
)


class Secret(enum.StrEnum):
    DATABASE_PASSWORD = "database_password"
    S3_ACCESS_KEY_ID = "s3_access_key_id"
    S3_SECRET_ACCESS_KEY = "s3_secret_access_key"
    DRUID_PASSWORD = "druid_password"

    @property
    def label(self) -> str:
        """As a sentence names it: "the S3 secret access key"."""
        words = self.value.replace("_", " ")
        return words.replace("s3 ", "S3 ").replace("druid ", "Druid ")


class SecretStoreError(Exception):
    """The keyring refused or is unavailable; the message says which secret and why.

    `unavailable` means there is no working keyring at all (not a refusal of this one secret),
    so asking again will not help; keeping the secret in memory for this run may.
    """

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


@dataclass(frozen=True, slots=True)
class SecretChange:
    """One secret to write: a value stores it, None forgets it."""

    secret: Secret
    value: str | None


class _SessionKeyring(KeyringBackend):
    """Secrets the user chose to keep for this run only, in front of the OS keyring (if any).

    Installed as the process's keyring, so every reader (the task database, the S3 credentials,
    the Druid client) finds them without knowing where they are. It inherits the base class's
    priority, which raises: keyring itself never picks this backend.
    """

    def __init__(self, behind: KeyringBackend) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.behind = behind
        self.held: dict[tuple[str, str], str] = {}

    def __str__(self) -> str:  # the base class's reads the priority, which raises here
        return f"secrets kept for this run, in front of {self.behind}"

    def get_password(self, service: str, username: str) -> str | None:
        held = self.held.get((service, username))
        return held if held is not None else self.behind.get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.behind.set_password(service, username, password)
        self.held.pop((service, username), None)  # the OS keyring has it now

    def delete_password(self, service: str, username: str) -> None:
        self.held.pop((service, username), None)
        self.behind.delete_password(service, username)


def get_secret(secret: Secret) -> str | None:
    """The stored value, or None when absent or when this machine has no usable keyring."""
    try:
        return keyring.get_password(KEYRING_SERVICE, secret.value)
    except NoKeyringError:
        # A machine without a keyring is a setup, not a fault: whatever needed the secret says
        # so in its own words (and Settings offers to keep it in memory).
        log.info("no OS keyring to read %s from", secret.value)
        return None
    except KeyringError as exc:
        # The name of the secret is fine to log; its value never is.
        log.warning("cannot read %s from the keyring: %s", secret.value, type(exc).__name__)
        return None


def stored_secrets() -> frozenset[Secret]:
    """Which secrets the keyring (or this run's memory) holds; their values stay there."""
    return frozenset(secret for secret in Secret if get_secret(secret))


def held_in_memory() -> frozenset[Secret]:
    """The secrets kept for this run only: gone when the app closes."""
    backend = keyring.get_keyring()
    if not isinstance(backend, _SessionKeyring):
        return frozenset()
    return frozenset(s for s in Secret if (KEYRING_SERVICE, s.value) in backend.held)


def keyring_missing() -> bool:
    """True when this machine has no OS keyring: every secret would be refused or dropped."""
    backend = keyring.get_keyring()
    if isinstance(backend, _SessionKeyring):
        backend = backend.behind
    if isinstance(backend, chainer.ChainerBackend):
        return not backend.backends
    return isinstance(backend, fail.Keyring | null.Keyring)


def _refused(secret: Secret, exc: KeyringError) -> SecretStoreError:
    if isinstance(exc, NoKeyringError):
        return SecretStoreError(
            f"{NO_KEYRING} The {secret.label} was not saved.", unavailable=True
        )
    backend = type(keyring.get_keyring()).__name__
    return SecretStoreError(
        f"The OS keyring ({backend}) refused to save the {secret.label}: "
        f"{exc or type(exc).__name__}"
    )


def set_secret(secret: Secret, value: str | None) -> None:
    """Store `value`, or forget the secret when value is None or empty.

    A stored value is read back: a keyring that accepts a password and keeps nothing (the
    "null" backend some systems fall back to) counts as no keyring, not as a saved secret.
    """
    try:
        if value:
            keyring.set_password(KEYRING_SERVICE, secret.value, value)
            if keyring.get_password(KEYRING_SERVICE, secret.value) != value:
                raise SecretStoreError(
                    f"{NO_KEYRING} The {secret.label} was not kept.", unavailable=True
                )
            return
        # Nothing stored (or no keyring to store it in) means forgetting it is already done.
        with contextlib.suppress(PasswordDeleteError, NoKeyringError):
            keyring.delete_password(KEYRING_SERVICE, secret.value)
    except KeyringError as exc:
        raise _refused(secret, exc) from exc


def apply_secret_changes(changes: tuple[SecretChange, ...]) -> tuple[SecretChange, ...]:
    """All or nothing: when one change is refused, those made before it are undone.

    Returns the changes that undo these (each secret's value before), for a caller whose next
    step fails.
    """
    undo: list[SecretChange] = []
    try:
        for change in changes:
            before = get_secret(change.secret)
            set_secret(change.secret, change.value)
            undo.append(SecretChange(change.secret, before))
    except SecretStoreError:
        _undo(tuple(reversed(undo)))
        raise
    return tuple(reversed(undo))


def _undo(changes: tuple[SecretChange, ...]) -> None:
    for change in changes:
        try:
            set_secret(change.secret, change.value)
        except SecretStoreError:
            # The keyring took the new value a moment ago; there is nothing more to try.
            log.warning("could not restore %s in the keyring", change.secret.value)


def keep_in_memory(changes: tuple[SecretChange, ...]) -> None:
    """Hold these secrets for this run only (no keyring would keep them); None forgets one."""
    current = keyring.get_keyring()
    session = current if isinstance(current, _SessionKeyring) else _SessionKeyring(current)
    for change in changes:
        key = (KEYRING_SERVICE, change.secret.value)
        if change.value:
            session.held[key] = change.value
        else:
            session.held.pop(key, None)
    keyring.set_keyring(session)


def save_settings_with_secrets(
    settings: Settings,
    changes: tuple[SecretChange, ...],
    *,
    keep: frozenset[str] = frozenset(),
    in_memory: bool = False,
    path: Path | None = None,
) -> Path:
    """All or nothing: the secrets first, the settings file only once they are stored.

    A refused secret raises SecretStoreError with the keyring and the file as they were; a file
    that cannot be written puts the secrets back too. `in_memory` keeps the secrets for this
    run only (no keyring would take them) and writes the file without them.
    """
    if in_memory:
        written = save_settings(settings, path, keep=keep)
        keep_in_memory(changes)
        return written
    undo = apply_secret_changes(changes)
    try:
        return save_settings(settings, path, keep=keep)
    except BaseException:
        _undo(undo)
        raise


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
