"""A quick read-only look at a task database: the server, the schema revision, or why not."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from app.services.store.diagnose import driver_reason, explain, parse_database_url
from app.services.store.engine import display_url, make_engine
from app.services.store.errors import DatabaseUrlError
from app.services.store.schema import current_revision


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    """What one connection attempt found; exactly one of `version`, `bad_url`, `error` is set
    (with `version`, `revision` is the schema's, None for a database without task tables).
    `error` is the driver's own first line, `plain` the same in plain words; `hint` goes with
    `bad_url` or `error`. `not_created` marks an embedded file that does not exist yet: it is
    made, with its tables, on first use."""

    where: str
    version: str | None = None
    revision: str | None = None
    bad_url: str | None = None
    error: str | None = None
    plain: str = ""
    hint: str = ""
    not_created: bool = False


def _server_version(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    info = conn.dialect.server_version_info or ()
    return "PostgreSQL " + ".".join(str(part) for part in info)


def _unmade_file(parsed: URL, where: str) -> DatabaseProbe | None:
    """A look at an embedded file that does not exist yet, without creating it (or its folder)."""
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    if parsed.database == ":memory:" or path.exists():
        return None
    folder = next((p for p in path.parents if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK | os.X_OK):
        said = f"the embedded database cannot be created in {folder} (not writable)"
        return DatabaseProbe(
            where, error=said, plain=said,
            hint="Check this account may write to that folder, or set another location.",
        )
    return DatabaseProbe(where, version=f"SQLite {sqlite3.sqlite_version}", not_created=True)


def _failed(where: str, url: URL, exc: BaseException) -> DatabaseProbe:
    plain, hint = explain(url, exc)
    return DatabaseProbe(where, error=driver_reason(exc), plain=plain, hint=hint)


def probe_database(url: str) -> DatabaseProbe:
    """Connect once, read the server version and the schema revision; creates nothing."""
    try:
        parsed = parse_database_url(url)
    except DatabaseUrlError as exc:
        return DatabaseProbe(where=url.rsplit("@", maxsplit=1)[-1], bad_url=exc.reason,
                             hint=exc.hint)
    where = display_url(parsed)
    unmade = _unmade_file(parsed, where)
    if unmade is not None:
        return unmade
    try:
        engine = make_engine(parsed, pool_size=1)
    except OSError as exc:
        return _failed(where, parsed, exc)
    try:
        with engine.connect() as conn:
            version = _server_version(conn)
        return DatabaseProbe(where, version=version, revision=current_revision(engine))
    except (DBAPIError, OSError) as exc:
        return _failed(where, parsed, exc)
    finally:
        engine.dispose()
