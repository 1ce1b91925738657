"""A quick read-only look at a task database: the server, the schema revision, or why not."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError

from app.services.store.engine import display_url, make_engine
from app.services.store.schema import current_revision


def driver_reason(exc: DBAPIError) -> str:
    """The driver's own first line (not SQLAlchemy's wrapper text with its help link)."""
    text = str(exc.orig or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    """What one connection attempt found; exactly one of `version`, `bad_url`, `error` is set
    (with `version`, `revision` is the schema's, None for a database without task tables)."""

    where: str
    version: str | None = None
    revision: str | None = None
    bad_url: str | None = None
    error: str | None = None


def _server_version(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    info = conn.dialect.server_version_info or ()
    return "PostgreSQL " + ".".join(str(part) for part in info)


def probe_database(url: str) -> DatabaseProbe:
    """Connect once, read the server version and the schema revision; creates nothing."""
    try:
        where = display_url(url)
        engine = make_engine(url, pool_size=1)
    except (ArgumentError, ValueError) as exc:
        return DatabaseProbe(where=url.rsplit("@", maxsplit=1)[-1], bad_url=str(exc))
    try:
        with engine.connect() as conn:
            version = _server_version(conn)
        return DatabaseProbe(where, version=version, revision=current_revision(engine))
    except DBAPIError as exc:
        return DatabaseProbe(where, error=driver_reason(exc))
    finally:
        engine.dispose()
