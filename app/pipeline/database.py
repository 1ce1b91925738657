"""The task database the settings (or the command line) name, with the keyring's password."""

from __future__ import annotations

from app.services.secrets import database_url_with_password
from app.services.settings import load_settings
from app.services.store.admin import (
    SchemaChange,
    downgrade_schema,
    schema_revision,
    upgrade_schema,
)

__all__ = ["SchemaChange", "database_url", "downgrade_schema", "schema_revision", "upgrade_schema"]


def database_url(given: str | None = None) -> str:
    """`given`, else the settings' URL (else the embedded file), with the password stored in
    the OS keyring added when the URL names a user but carries none."""
    return database_url_with_password(given or load_settings().effective_database_url)
