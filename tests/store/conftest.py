"""Fixtures for the task store tests: one real PostgreSQL per session, a fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.services.store import TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.tempcluster import TempPostgres

_db_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    server = TempPostgres()
    server.start()
    yield server
    server.cleanup()


def create_database(server: TempPostgres, prefix: str = "t") -> str:
    name = f"{prefix}_{next(_db_names)}"
    with psycopg.connect(libpq_conninfo(server.url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url_for(name)


@pytest.fixture
def pg_url(pg_server: TempPostgres) -> str:
    """An empty database of its own, so tests never see each other's tasks."""
    return create_database(pg_server)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tasks.sqlite3'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same API against both back ends: shared PostgreSQL and embedded SQLite."""
    name = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[TaskStore]:
    with TaskStore.open(store_url) as opened:
        yield opened


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[TaskStore]:
    with TaskStore.open(pg_url) as opened:
        yield opened


@pytest.fixture
def own_server() -> Iterator[TempPostgres]:
    """A cluster of its own, for a test that stops and starts the server."""
    server = TempPostgres(max_connections=100)
    server.start()
    yield server
    server.cleanup()
