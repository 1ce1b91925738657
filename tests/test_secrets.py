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
    with pytest.raises(SecretStoreError, match="refused to save the druid password"):
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
