"""The task database the settings (or the command line) name, with the keyring's password."""

from __future__ import annotations

from app.services.secrets import database_url_with_password
from app.services.settings import Settings, load_settings
from app.services.store.admin import (
    SchemaChange,
    downgrade_schema,
    schema_revision,
    upgrade_schema,
)
from app.services.store.diagnose import parse_database_url

__all__ = [
    "SchemaChange",
    "connect_url",
    "database_url",
    "downgrade_schema",
    "schema_revision",
    "upgrade_schema",
]


def connect_url(settings: Settings, given: str | None = None) -> str:
    """The URL every client connects with (the window, each command, doctor): `given`, else
    the settings' URL (else the embedded file), with the password stored in the OS keyring
    added when the URL names a user but carries none. The one place this is decided."""
    url = given or settings.effective_database_url
    parse_database_url(url)  # DatabaseUrlError names what is wrong before the keyring is asked
    return database_url_with_password(url)


def database_url(given: str | None = None) -> str:
    """`connect_url` with the settings read now (for `ingest-desk db`)."""
    return connect_url(load_settings(), given)
