"""Settings: the user's TOML file, overridden by INGEST_DESK_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.settings import Settings, load_settings


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(
        's3_bucket = "from-file"\ns3_prefix = "team-a"\ndruid_url = "http://f"\n'
    )
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(settings_file))
    for name in ("DATABASE_URL", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_PREFIX", "DRUID_URL"):
        monkeypatch.delenv(f"INGEST_DESK_{name}", raising=False)
    from_file = load_settings()
    assert (from_file.s3_bucket, from_file.s3_prefix, from_file.druid_url) == (
        "from-file",
        "team-a",
        "http://f",
    )
    assert from_file.embedded and from_file.effective_database_url.startswith("sqlite:///")

    monkeypatch.setenv("INGEST_DESK_S3_BUCKET", "from-env")
    monkeypatch.setenv("INGEST_DESK_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("INGEST_DESK_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("INGEST_DESK_DRUID_URL", "http://127.0.0.1:8888")
    overridden = load_settings()
    assert overridden.s3_bucket == "from-env" and overridden.s3_prefix == "team-a"
    assert overridden.s3_endpoint_url == "http://127.0.0.1:9000"
    assert overridden.druid_url == "http://127.0.0.1:8888"
    assert not overridden.embedded


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("INGEST_DESK_STAGING_FORMAT", "csv")
    with pytest.raises(ValueError, match="staging_format"):
        Settings()
