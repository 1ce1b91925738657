"""Transient database faults are repeated as whole units of work; other errors are not.

A real PostgreSQL restarted under writers (no write may fail), and faults injected at the
driver: serialization failures, a commit whose answer was lost, a constraint violation."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from app.domain.tasks import Task, TaskState
from app.services.store import (
    LostRaceError,
    StoreUnavailableError,
    TaskRepository,
    TaskStore,
    units,
)
from app.services.store.tempcluster import TempPostgres
from tests.store.store_helpers import draft
from tests.store.store_workers import EndlessWriter
from tests.support.waiting import wait_until


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["fast", "immediate"])  # immediate: a crash, then recovery
def test_writes_ride_out_a_server_restart(
    mode: str, own_server: TempPostgres, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A loaded test machine may take longer than production's 30 s to restart the server.
    monkeypatch.setattr(units, "TRANSIENT_DEADLINE_S", 120.0)
    caplog.set_level(logging.INFO, logger="app.services.store.units")
    store = TaskStore.open(own_server.create_database("transient"))
    ids = [store.tasks.create(draft("c1", n)).id for n in range(20)]
    writers = [EndlessWriter(store, ids, seed) for seed in range(3)]
    for writer in writers:
        writer.start()
    try:
        wait_until(lambda: all(len(w.applied) >= 5 for w in writers), "the writers were under way")
        own_server.stop(mode)  # every connection is terminated mid-transaction
        own_server.start()
        before = [len(w.applied) for w in writers]
        wait_until(
            lambda: all(len(w.applied) >= b + 20 for w, b in zip(writers, before, strict=True)),
            "every writer wrote on after the restart", timeout=120,
        )
    finally:
        for writer in writers:
            writer.stopping.set()
        for writer in writers:
            writer.join(30)
        store.close()
    assert [w.failures for w in writers] == [[], [], []]
    repeated = [r for r in caplog.records if "repeating the transaction" in r.getMessage()]
    assert repeated, "the restart never hit a write (nothing was repeated)"


def _fail_first(
    store: TaskStore, count: int, error: Callable[[], Exception], statement: str
) -> list[str]:
    """Make the driver raise `error()` for the first `count` statements that start with
    `statement` (as if the server had said so); returns every such statement seen."""
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def inject(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith(statement):
            seen.append(sql)
            if len(seen) <= count:
                raise error()

    return seen


@pytest.mark.postgres
def test_a_serialization_failure_is_repeated_and_applied_once(pg_store: TaskStore) -> None:
    task = pg_store.tasks.create(draft("c1"))
    updates = _fail_first(
        pg_store, 2, lambda: psycopg.errors.SerializationFailure("could not serialize access"),
        "UPDATE TASKS",
    )
    moved = pg_store.tasks.transition(
        task.id, TaskState.VALIDATING, expected_state=TaskState.QUEUED,
        expected_version=task.version, by_client="c1",
    )
    assert len(updates) == 3  # two refused, the third applied
    assert (moved.state, moved.version) == (TaskState.VALIDATING, task.version + 1)
    assert [e.version for e in pg_store.tasks.history(task.id)] == [1, 2]


@pytest.mark.postgres
def test_a_constraint_violation_is_not_repeated(pg_store: TaskStore) -> None:
    first = pg_store.tasks.create(draft("c1"))
    inserts = _fail_first(pg_store, 0, lambda: AssertionError("unused"), "INSERT INTO TASKS")
    clash = dataclasses.replace(draft("c1"), id=first.id)
    with pytest.raises(IntegrityError):
        pg_store.tasks.create(clash)  # same id, other content: a real unique violation
    assert len(inserts) == 1


@pytest.mark.postgres
def test_a_lost_password_is_not_repeated(
    pg_store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Injected at the driver the way libpq reports it when opening a connection.
    monkeypatch.setattr(units, "TRANSIENT_DEADLINE_S", 60.0)
    reads = _fail_first(
        pg_store, 1_000,
        lambda: psycopg.OperationalError(
            'connection failed: FATAL:  password authentication failed for user "postgres"'),
        "SELECT",
    )
    with pytest.raises(StoreUnavailableError, match="refused the password") as caught:
        pg_store.tasks.list_tasks()
    assert len(reads) == 1
    assert "keyring" in caught.value.hint


def _answer_lost_once(
    monkeypatch: pytest.MonkeyPatch, method: str, before: Callable[[], None] | None = None
) -> None:
    """The first call of TaskRepository.`method` commits (after `before`, if given) and then
    fails as if the connection dropped before the answer came back."""
    real = getattr(TaskRepository, method)
    calls = 0

    def flaky(self: TaskRepository, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            if before is not None:
                before()
            else:
                real(self, *args, **kwargs)
            raise OperationalError(
                "COMMIT", None,
                psycopg.OperationalError("server closed the connection unexpectedly"),
            )
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TaskRepository, method, flaky)


@pytest.mark.postgres
def test_a_move_whose_answer_was_lost_is_not_a_lost_race(
    pg_store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = pg_store.tasks.create(draft("c1"))
    _answer_lost_once(monkeypatch, "_compare_and_set_once")
    moved = pg_store.tasks.transition(
        task.id, TaskState.VALIDATING, expected_state=TaskState.QUEUED,
        expected_version=task.version, by_client="c1",
    )
    # The repeat re-read the row, found our own move in its history, and did not move again.
    assert (moved.state, moved.version) == (TaskState.VALIDATING, 2)
    assert [(e.version, e.by_client) for e in pg_store.tasks.history(task.id)] == [
        (1, "c1"), (2, "c1")
    ]


@pytest.mark.postgres
def test_someone_elses_move_during_the_outage_is_still_a_lost_race(
    pg_store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = pg_store.tasks.create(draft("c1"))
    other = TaskStore.open(pg_store.url)
    try:
        def other_desk_cancels() -> None:
            other.tasks.transition(
                task.id, TaskState.CANCELLED, expected_state=TaskState.QUEUED,
                expected_version=task.version, by_client="c2",
            )

        _answer_lost_once(monkeypatch, "_compare_and_set_once", before=other_desk_cancels)
        with pytest.raises(LostRaceError) as caught:
            pg_store.tasks.transition(
                task.id, TaskState.VALIDATING, expected_state=TaskState.QUEUED,
                expected_version=task.version, by_client="c1",
            )
    finally:
        other.close()
    current: Task | None = caught.value.current
    assert current is not None and current.state is TaskState.CANCELLED


@pytest.mark.postgres
def test_an_insert_whose_answer_was_lost_makes_one_task(
    pg_store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _answer_lost_once(monkeypatch, "_create")
    made = pg_store.tasks.create(draft("c1"))  # no id given: the store picks one, once
    assert [t.id for t in pg_store.tasks.list_tasks()] == [made.id]
