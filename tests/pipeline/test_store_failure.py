"""Why the task database did not open, in plain words: real failures of a real open, mapped."""

from __future__ import annotations

import pytest
from psycopg import OperationalError as DriverError
from sqlalchemy.exc import OperationalError

from app.pipeline.connections import Outcome, describe_store_failure
from app.pipeline.session import DeskSession
from app.services.settings import Settings
from app.services.store.tempcluster import TempPostgres
from tests.store.conftest import pg_server  # noqa: F401

RAW_TEXT = ("sqlalche", "psycopg", "OperationalError", "Traceback", "invalid literal")


def _failure(url: str) -> BaseException:
    with pytest.raises(Exception) as caught:  # whatever the open raises is mapped
        DeskSession.open(Settings(), database_url=url).close()
    return caught.value


def _plain(url: str) -> tuple[str, str]:
    check = describe_store_failure(url, _failure(url))
    assert check.outcome is Outcome.FAILED and check.service == "database"
    # The message is the user's; the hint may show a URL's form (postgresql+psycopg://…).
    assert not [raw for raw in RAW_TEXT if raw.lower() in check.message.lower()], check.message
    assert check.hint, "every failure says what to check"
    return check.message, check.hint


def test_nothing_listening_names_the_server_and_says_refused() -> None:
    idle = TempPostgres()  # a free port, no server started
    try:
        message, hint = _plain(idle.url_for("tasks"))
    finally:
        idle.cleanup()
    assert message == (
        f"Cannot connect to the PostgreSQL server at 127.0.0.1:{idle.port} (database tasks, "
        "user postgres): the server refused the connection (nothing is listening on that port)"
    )
    assert "PostgreSQL is running" in hint


def test_an_unknown_database_on_a_running_server(pg_server: TempPostgres) -> None:  # noqa: F811
    message, hint = _plain(pg_server.url_for("no_such_db"))
    assert f"127.0.0.1:{pg_server.port} (database no_such_db" in message
    assert message.endswith(': the server has no database "no_such_db"')
    assert "FATAL" not in message and "connection failed" not in message
    assert "Check the database name" in hint


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+psycopg://ann@127.0.0.1:notaport/tasks",
         "the port 'notaport' is not a number"),
        ("mysql://ann@127.0.0.1/tasks",
         "mysql:// is not supported; the task database is PostgreSQL (or the embedded SQLite "
         "file)"),
        ("tasks-db", "'tasks-db' is not a database URL"),
    ],
)
def test_an_unusable_url_says_which_part(url: str, reason: str) -> None:
    message, hint = _plain(url)
    assert message == f"Not a usable database URL: {reason}"
    assert "postgresql+psycopg://user@host:5432/database" in hint


def test_an_unwrapped_driver_error_loses_its_wrapper_text() -> None:
    """A failure after the store opened (registering this desk) reaches the mapping as
    SQLAlchemy raised it: the issue's window showed that text as is."""
    driver = DriverError(
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
        "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
        "connections?"
    )
    error = OperationalError("SELECT 1", {}, driver)
    assert "sqlalche.me" in str(error)  # what the mapping must not pass on
    check = describe_store_failure("postgresql+psycopg://ann@10.0.0.5:5432/tasks", error)
    assert check.message == (
        "Cannot connect to the PostgreSQL server at 10.0.0.5:5432 (database tasks, user ann): "
        "the server refused the connection (nothing is listening on that port)"
    )
