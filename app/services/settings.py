"""Typed application settings: the user's settings file, overridden by INGEST_DESK_* variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
import tomli_w
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "ingest-desk"
ENV_PREFIX = "INGEST_DESK_"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def settings_file() -> Path:
    """The settings file; INGEST_DESK_SETTINGS_FILE points elsewhere (tests, portable installs)."""
    override = os.environ.get(f"{ENV_PREFIX}SETTINGS_FILE")
    return Path(override) if override else config_dir() / "settings.toml"


class Settings(BaseSettings):
    """Non-secret configuration. Secrets live in the OS keyring, never here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Task store: a PostgreSQL URL shares tasks between clients; unset means embedded SQLite.
    database_url: str | None = None

    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = "ingest-desk"
    s3_region: str | None = None
    s3_profile: str | None = None
    s3_path_style: bool = False
    s3_sse: Literal["none", "AES256", "aws:kms"] = "none"
    s3_kms_key_id: str | None = None
    # A failed task's open multipart upload waits this long for a retry to resume it; then
    # (or at once, when the task is cancelled or removed) it is aborted, so S3 bills no parts.
    keep_failed_uploads_days: int = Field(default=7, ge=1)

    druid_url: str | None = None
    druid_username: str | None = None
    druid_verify_tls: bool = True
    druid_timeout_s: float = 30.0

    # Timestamps without a zone are read in this zone; the report states it.
    default_timezone: str = "UTC"
    # NDJSON in zstd frames: Druid (25 checked) reads `.zst` by its suffix, and it costs a
    # sixth of gzip's CPU for the same size; ndjson.gz stays for older readers.
    staging_format: Literal["ndjson.zst", "ndjson.gz", "parquet"] = "ndjson.zst"
    staging_part_mb: int = Field(default=256, ge=1)
    # The staging folder keeps failed tasks' files for a retry up to this size; past it, those
    # of the tasks that ended first are removed (a task still running keeps its files).
    staging_cap_mb: int = Field(default=5120, ge=1)
    # Guards against decompression bombs: the most a compressed input may expand to.
    max_expanded_mb: int = Field(default=4096, ge=1)
    # A workbook's sheets are held in memory while read (up to 5 bytes per byte of sheet XML),
    # so their expanded size has its own, smaller budget; CSV streams and needs none.
    max_workbook_mb: int = Field(default=256, ge=1)
    # A workbook part that expands more than this many times is built to explode, not to be read.
    max_compression_ratio: int = Field(default=500, ge=2)
    max_columns: int = Field(default=5000, ge=1)
    max_cell_chars: int = Field(default=65536, ge=1)

    # Desktop preferences: "system" follows the OS light/dark setting and its changes.
    theme: Literal["system", "light", "dark"] = "system"
    # A desktop notification when a task this desk added succeeds or fails.
    notify_when_done: bool = True
    # A drop whose files all match a shared template starts at once, without the ingest dialog.
    skip_dialog_when_template_matches: bool = True

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{data_dir() / 'tasks.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file so automation and the dev stack never edit user files.
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=settings_file()),
        )


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def env_overrides() -> frozenset[str]:
    """Settings fields an INGEST_DESK_* variable sets now; they beat whatever the file says."""
    return frozenset(
        name for name in Settings.model_fields if f"{ENV_PREFIX}{name.upper()}" in os.environ
    )


def save_settings(
    settings: Settings, path: Path | None = None, *, keep: frozenset[str] = frozenset()
) -> Path:
    """Write the non-default values to the TOML file, keeping keys this app does not know.

    Fields in `keep` stay as the file has them (an environment variable set their value, and
    that value must not leak into the file). Defaults are left out so a later release can
    change them; None removes a key (TOML has no null). Written to a sibling file and renamed,
    so a crash never leaves half a file.
    """
    target = path or settings_file()
    if settings.database_url and urlsplit(settings.database_url).password:
        raise ValueError("the database URL holds a password; it belongs in the keyring")
    existing: dict[str, Any] = {}
    if target.is_file():
        existing = tomllib.loads(target.read_text(encoding="utf-8"))
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        if name in keep:
            continue
        value = getattr(settings, name)
        if value is None or value == getattr(defaults, name):
            existing.pop(name, None)
        else:
            existing[name] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(tomli_w.dumps(existing), encoding="utf-8")
    partial.replace(target)
    return target
