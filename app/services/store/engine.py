"""Engines for the two back ends: shared PostgreSQL and the embedded single-user SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Interval, create_engine, event, func, literal
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.sql.elements import ColumnElement
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_random_exponential

from app.services.private_files import create_private_file, create_private_folders, tighten_file
from app.services.store.diagnose import parse_database_url
from app.services.store.models import UTCDateTime

# libpq keepalives notice a silently dead peer (sleeping laptop, dropped VPN) in ~25 s rather than
# the kernel's two hours, so listeners and the leader lock recover instead of hanging.
PG_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


def is_postgres(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def display_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs: the keyring's password is added
    to the URL to connect, and the user should see the URL as they wrote it."""
    parsed = make_url(url)
    # URL.set() ignores None; URL is a named tuple, so _replace is how a field is cleared.
    return parsed._replace(password=None).render_as_string(hide_password=False)


def libpq_conninfo(url: str | URL) -> str:
    """The same database as a plain libpq URL, for connections psycopg opens directly (LISTEN)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(
    url: str | URL, *, pool_size: int = 5, application_name: str = "ingest-desk"
) -> Engine:
    """An engine for `url`; DatabaseUrlError (a ValueError) when the URL cannot be used."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            # After a server restart every pooled connection is dead; pinging swaps them out
            # instead of failing the first statement each thread runs.
            pool_pre_ping=True,
            connect_args={**PG_KEEPALIVES, "application_name": application_name},
        )
    if parsed.database and parsed.database != ":memory:":
        _private_database_file(Path(parsed.database))
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
    _configure_sqlite(engine)
    return engine


# SQLite's own files next to the database; it makes them with the database file's mode.
_SQLITE_SIBLINGS = ("-wal", "-shm", "-journal")


def _private_database_file(path: Path) -> None:
    """The embedded file (and its folder, when made here) readable by this user only: it holds
    report samples with row values. Made empty with mode 0600 before SQLite opens it, so no
    other user can ever open it; an older version's 0644 file is tightened (SQLite gives its
    -wal/-shm/-journal files the database file's mode, older ones are tightened too)."""
    create_private_folders(path.parent)
    if create_private_file(path):
        return
    for name in ("", *_SQLITE_SIBLINGS):
        tighten_file(path.with_name(path.name + name))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling begins lazily and breaks SAVEPOINT and transactional
        # DDL; turning it off lets the "begin" hook below issue the BEGIN itself.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _enable_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction can never
        # fail half-way with SQLITE_BUSY when another writer got there first; it waits instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@retry(
    # Switching a new file to WAL needs a moment of exclusive access and SQLite answers "locked"
    # at once instead of waiting when two windows open the same new file together.
    retry=retry_if_exception_type(sqlite3.OperationalError),
    wait=wait_random_exponential(multiplier=0.02, max=0.5),
    stop=stop_after_delay(30),
    reraise=True,
)
def _enable_wal(cursor: Any) -> None:
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer (persistent)


def now_expr(engine: Engine) -> ColumnElement[datetime]:
    """"Now" as the database sees it on PostgreSQL, so leases never depend on client clocks."""
    if engine.dialect.name == "postgresql":
        return func.clock_timestamp(type_=UTCDateTime())
    # Embedded mode has one machine and one clock.
    return literal(datetime.now(UTC), UTCDateTime())


def cutoff_expr(engine: Engine, age: timedelta) -> ColumnElement[datetime]:
    """The database's "now minus age", for lease checks made inside a single statement."""
    if engine.dialect.name == "postgresql":
        return func.clock_timestamp(type_=UTCDateTime()) - literal(age, Interval())
    return literal(datetime.now(UTC) - age, UTCDateTime())
