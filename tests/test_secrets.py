"""Secrets in the keyring (in-memory backend here) and a settings writer that never holds them."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.errors import KeyringError, PasswordSetError

from app.services import secrets
from app.services.secrets import Secret, SecretChange, SecretStoreError
from app.services.settings import Settings, env_overrides, save_settings
from tests.support.credentials import (
    MemoryKeyring,
    memory_keyring_installed,
)


class RefusingKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the user said no")


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MemoryKeyring]:
    for name in ("DATABASE_URL", "S3_BUCKET", "DRUID_URL"):
        monkeypatch.delenv(f"INGEST_DESK_{name}", raising=False)
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "settings.toml"))
    with memory_keyring_installed() as backend:
        yield backend


def test_names_agree_with_the_services_that_read_them() -> None:
    from app.services import druid, storage

    assert secrets.KEYRING_SERVICE == storage.KEYRING_SERVICE == druid.KEYRING_SERVICE
    assert Secret.S3_ACCESS_KEY_ID.value == storage.KEYRING_ACCESS_KEY
    assert Secret.S3_SECRET_ACCESS_KEY.value == storage.KEYRING_SECRET_KEY
    assert Secret.DRUID_PASSWORD.value == druid.KEYRING_PASSWORD
    assert Secret.DATABASE_PASSWORD.value == "database_password"


def test_store_read_and_forget(memory_keyring: MemoryKeyring) -> None:
    assert secrets.stored_secrets() == frozenset()
    secrets.apply_secret_changes(
        (SecretChange(Secret.DRUID_PASSWORD, "pw"), SecretChange(Secret.S3_ACCESS_KEY_ID, "AK"))
    )
    assert memory_keyring.secrets[("ingest-desk", "druid_password")] == "pw"
    assert secrets.stored_secrets() == {Secret.DRUID_PASSWORD, Secret.S3_ACCESS_KEY_ID}
    secrets.set_secret(Secret.DRUID_PASSWORD, None)
    secrets.set_secret(Secret.DATABASE_PASSWORD, None)  # forgetting nothing is fine
    assert secrets.get_secret(Secret.DRUID_PASSWORD) is None
    # What the storage service reads is what the dialog wrote.
    from app.services.storage import keyring_credentials

    secrets.set_secret(Secret.S3_SECRET_ACCESS_KEY, "SK")
    stored = keyring_credentials()
    assert stored is not None and (stored.access_key_id, stored.secret_access_key) == ("AK", "SK")


def test_a_refusing_keyring_is_reported_without_the_value(caplog: pytest.LogCaptureFixture):
    keyring.set_keyring(RefusingKeyring())
    caplog.set_level(logging.DEBUG)
    assert secrets.get_secret(Secret.DRUID_PASSWORD) is None
    with pytest.raises(SecretStoreError, match="refused to save the Druid password"):
        secrets.set_secret(Secret.DRUID_PASSWORD, "hunter2")
    assert "hunter2" not in caplog.text


def test_database_password_moves_between_url_and_keyring() -> None:
    bare, password = secrets.split_database_password("postgresql+psycopg://ann:p%40ss@db:5432/t")
    assert (bare, password) == ("postgresql+psycopg://ann@db:5432/t", "p@ss")
    assert secrets.split_database_password("sqlite:////tmp/x.db") == ("sqlite:////tmp/x.db", None)

    assert secrets.database_url_with_password(bare) == bare  # nothing stored yet
    secrets.set_secret(Secret.DATABASE_PASSWORD, "p@ss")
    assert secrets.database_url_with_password(bare) == "postgresql+psycopg://ann:p%40ss@db:5432/t"
    assert secrets.database_url_with_password(bare, "typed") == (
        "postgresql+psycopg://ann:typed@db:5432/t"
    )
    # No user, SQLite, or a password already in the URL: left alone.
    assert secrets.database_url_with_password("postgresql+psycopg://db/t") == (
        "postgresql+psycopg://db/t"
    )
    assert secrets.database_url_with_password("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_save_settings_writes_only_non_defaults_and_keeps_unknown_keys(tmp_path: Path) -> None:
    target = tmp_path / "settings.toml"
    target.write_text('future_option = "kept"\ns3_region = "eu-west-1"\n')
    settings = Settings(s3_bucket="bucket", s3_path_style=True, druid_url="http://d:8888")
    assert settings.s3_region == "eu-west-1"
    changed = settings.model_copy(update={"s3_region": None, "s3_prefix": "team"})
    save_settings(changed)
    written = tomllib.loads(target.read_text())
    assert written == {
        "future_option": "kept",
        "s3_bucket": "bucket",
        "s3_prefix": "team",
        "s3_path_style": True,
        "druid_url": "http://d:8888",
    }
    assert Settings().s3_prefix == "team"  # read back by the normal loader


def test_save_settings_refuses_a_password_and_skips_environment_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="keyring"):
        save_settings(Settings(database_url="postgresql+psycopg://u:secret@h/db"))
    assert not (tmp_path / "settings.toml").exists()

    monkeypatch.setenv("INGEST_DESK_S3_BUCKET", "from-env")
    assert "s3_bucket" in env_overrides()
    save_settings(Settings(druid_url="http://d"), keep=env_overrides())
    assert tomllib.loads((tmp_path / "settings.toml").read_text()) == {"druid_url": "http://d"}


# -- all or nothing, and no keyring at all -------------------------------------------------------


class RefusesOne(MemoryKeyring):
    """Fault injection: a keyring that takes every secret but one."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    def set_password(self, service: str, username: str, password: str) -> None:
        if username == self.refused:
            raise PasswordSetError("the user said no")
        super().set_password(service, username, password)


def test_a_refused_secret_leaves_the_keyring_and_the_file_as_they_were(tmp_path: Path) -> None:
    target = tmp_path / "settings.toml"
    target.write_text('druid_url = "http://old:8888"\n')
    before = target.read_bytes()
    backend = RefusesOne(Secret.DRUID_PASSWORD.value)
    backend.set_password("ingest-desk", "database_password", "old-db")
    keyring.set_keyring(backend)
    changes = (
        SecretChange(Secret.DATABASE_PASSWORD, "new-db"),
        SecretChange(Secret.S3_ACCESS_KEY_ID, "AK"),
        SecretChange(Secret.DRUID_PASSWORD, "druid"),
    )
    new = Settings(database_url="postgresql+psycopg://ann@unreachable/db", druid_url="http://new")
    with pytest.raises(SecretStoreError, match="refused to save the Druid password") as caught:
        secrets.save_settings_with_secrets(new, changes)
    assert not caught.value.unavailable
    assert target.read_bytes() == before  # the next start uses the old settings
    assert backend.secrets == {("ingest-desk", "database_password"): "old-db"}


def test_a_settings_file_that_cannot_be_written_puts_the_secrets_back(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the settings folder should be")
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    secrets.set_secret(Secret.DRUID_PASSWORD, "old")
    with pytest.raises(OSError):
        secrets.save_settings_with_secrets(
            Settings(druid_url="http://d"),
            (
                SecretChange(Secret.DRUID_PASSWORD, "new"),
                SecretChange(Secret.S3_ACCESS_KEY_ID, "A"),
            ),
            path=blocker / "settings.toml",
        )
    assert backend.secrets == {("ingest-desk", "druid_password"): "old"}


def test_without_a_keyring_secrets_can_be_kept_in_memory_for_this_run(tmp_path: Path) -> None:
    from keyring.backends import fail

    from app.services.storage import keyring_credentials

    keyring.set_keyring(fail.Keyring())
    assert secrets.keyring_missing()
    target = tmp_path / "settings.toml"
    settings = Settings(druid_url="http://d:8888", druid_username="admin", s3_bucket="b")
    changes = (
        SecretChange(Secret.DRUID_PASSWORD, "druid-pw"),
        SecretChange(Secret.S3_ACCESS_KEY_ID, "AK"),
        SecretChange(Secret.S3_SECRET_ACCESS_KEY, "SK"),
    )
    with pytest.raises(SecretStoreError, match="no OS keyring") as caught:
        secrets.save_settings_with_secrets(settings, changes)
    assert caught.value.unavailable
    assert "No recommended backend" not in str(caught.value)  # no library text for the user
    assert not target.exists()

    secrets.save_settings_with_secrets(settings, changes, in_memory=True)
    written = target.read_text()
    assert tomllib.loads(written) == {
        "druid_url": "http://d:8888", "druid_username": "admin", "s3_bucket": "b",
    }
    assert "druid-pw" not in written and "SK" not in written
    assert secrets.held_in_memory() == {
        Secret.DRUID_PASSWORD, Secret.S3_ACCESS_KEY_ID, Secret.S3_SECRET_ACCESS_KEY,
    }
    # Every reader in this process finds them: the Druid client and S3 read the keyring.
    assert keyring.get_password("ingest-desk", "druid_password") == "druid-pw"
    stored = keyring_credentials()
    assert stored is not None and (stored.access_key_id, stored.secret_access_key) == ("AK", "SK")
    assert secrets.stored_secrets() == secrets.held_in_memory()
    assert secrets.keyring_missing()  # memory is not a keyring

    secrets.set_secret(Secret.DRUID_PASSWORD, None)  # forgetting needs no keyring either
    assert secrets.get_secret(Secret.DRUID_PASSWORD) is None
    assert Secret.DRUID_PASSWORD not in secrets.held_in_memory()


def test_a_keyring_that_keeps_nothing_counts_as_none() -> None:
    from keyring.backends import null

    keyring.set_keyring(null.Keyring())
    assert secrets.keyring_missing()
    with pytest.raises(SecretStoreError, match="no OS keyring") as caught:
        secrets.set_secret(Secret.DATABASE_PASSWORD, "pw")
    assert caught.value.unavailable
