"""Tasks and their history: compare-and-set transitions that hand back frozen dataclasses."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from app.domain.store import ChangeSource, EventKind, NewTask, TaskChange, TaskEvent, TaskPatch
from app.domain.tasks import (
    ADOPTABLE_STATES,
    RETRYABLE_STATES,
    Task,
    TaskState,
    is_legal_transition,
)
from app.services.store.engine import cutoff_expr, now_expr
from app.services.store.errors import IllegalTransitionError, LostRaceError, TaskNotFoundError
from app.services.store.models import CLIENTS, TASK_EVENTS, TASKS
from app.services.store.rows import (
    CHANGES,
    PLAN_FIELDS,
    VERSIONS,
    patch_values,
    task_select,
    to_event,
    to_task,
)
from app.services.store.units import run_unit, unit

# Bounded IN lists keep statements well inside every driver's parameter limit.
_CHUNK = 500


# A history event to write with a move: kind, from, to, by whom, why.
_Event = tuple[EventKind, TaskState, TaskState, str | None, str | None]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class TaskRepository:
    """Every write is one short transaction; every read returns plain frozen values. Each is a
    unit of work (see units.py): repeated when the database fault was transient."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- reads ---------------------------------------------------------------------------------

    @unit
    def now(self) -> datetime:
        """The database clock (PostgreSQL) that leases are measured against."""
        with self._engine.connect() as conn:
            value = conn.execute(select(now_expr(self._engine))).scalar_one()
            assert isinstance(value, datetime)
            return value

    @unit
    def find(self, task_id: str) -> Task | None:
        with self._engine.connect() as conn:
            return self._find(conn, task_id)

    def get(self, task_id: str) -> Task:
        task = self.find(task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    @unit
    def list_tasks(
        self,
        *,
        states: Collection[TaskState] | None = None,
        datasource: str | None = None,
        limit: int | None = None,
    ) -> list[Task]:
        query = task_select().order_by(TASKS.c.created_at.desc(), TASKS.c.id)
        if states is not None:
            query = query.where(TASKS.c.state.in_([s.value for s in states]))
        if datasource is not None:
            query = query.where(TASKS.c.datasource == datasource)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [to_task(row) for row in conn.execute(query).mappings()]

    def druid_spec(self, task_id: str) -> str | None:
        """The spec recorded on the move to submitting (None before it, or after a retry)."""
        value = self._fact(TASKS.c.druid_spec, task_id)
        return value if isinstance(value, str) else None

    def report(self, task_id: str) -> dict[str, Any] | None:
        """The stored validation report (see report_codec), None before the first verdict."""
        value = self._fact(TASKS.c.report, task_id)
        return value if isinstance(value, dict) else None

    def choices(self, task_id: str) -> dict[str, Any] | None:
        """What the user chose for the file when it was added or corrected (JSON)."""
        value = self._fact(TASKS.c.choices, task_id)
        return value if isinstance(value, dict) else None

    @unit
    def _fact(self, column: Any, task_id: str) -> object:
        with self._engine.connect() as conn:
            return conn.execute(select(column).where(TASKS.c.id == task_id)).scalar_one_or_none()

    @unit
    def history(self, task_id: str) -> list[TaskEvent]:
        query = (
            select(TASK_EVENTS)
            .where(TASK_EVENTS.c.task_id == task_id)
            .order_by(TASK_EVENTS.c.version)
        )
        with self._engine.connect() as conn:
            return [to_event(row) for row in conn.execute(query).mappings()]

    @unit
    def adoptable(self, lease: timedelta) -> list[Task]:
        """Post-upload tasks whose owner's heartbeat is older than `lease` (or who have none)."""
        query = task_select().where(
            TASKS.c.state.in_([s.value for s in ADOPTABLE_STATES]),
            ~self._owner_alive(lease),
        )
        with self._engine.connect() as conn:
            return [to_task(row) for row in conn.execute(query).mappings()]

    @unit
    def waiting_for_source_client(self, lease: timedelta) -> list[Task]:
        """Unfinished tasks only their (silent) source client can move on: shown, never stuck."""
        query = task_select().where(
            TASKS.c.state.not_in([s.value for s in ADOPTABLE_STATES]),
            TASKS.c.state.not_in([s.value for s in TaskState if s.is_terminal]),
            ~self._owner_alive(lease),
        )
        with self._engine.connect() as conn:
            return [to_task(row) for row in conn.execute(query).mappings()]

    # -- writes --------------------------------------------------------------------------------

    def create(self, draft: NewTask, *, by_client: str | None = None) -> Task:
        """Insert a queued task owned by its source client; re-creating the same id returns it."""
        # The id is fixed before the first attempt: a repeat after an unacknowledged commit
        # collides with the row that attempt made instead of making a second task.
        task_id = draft.id or str(uuid.uuid4())
        return run_unit(self._engine, lambda retried: self._create(task_id, draft, by_client,
                                                                   retried=retried))

    def _create(
        self, task_id: str, draft: NewTask, by_client: str | None, *, retried: bool
    ) -> Task:
        try:
            with self._engine.begin() as conn:
                now = conn.execute(select(now_expr(self._engine))).scalar_one()
                conn.execute(
                    insert(TASKS).values(
                        id=task_id,
                        file_name=draft.file_name,
                        file_size=draft.file_size,
                        sha256=draft.sha256,
                        source_client=draft.source_client,
                        sheet=draft.sheet,
                        source_path=draft.source_path,
                        choices=draft.choices,
                        datasource=draft.datasource,
                        mode=draft.mode.value,
                        state=TaskState.QUEUED.value,
                        version=1,
                        progress=0.0,
                        owner_client=draft.source_client,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._write_event(
                    conn, task_id, 1, EventKind.CREATED, None, TaskState.QUEUED, now,
                    by_client or draft.source_client, None,
                )
                return self._read(conn, task_id)
        except IntegrityError:
            existing = self.find(task_id) if draft.id or retried else None
            if existing is None or existing.sha256 != draft.sha256:
                raise
            return existing

    def transition(
        self,
        task_id: str,
        to_state: TaskState,
        *,
        expected_state: TaskState,
        expected_version: int,
        by_client: str | None,
        message: str | None = None,
        patch: TaskPatch | None = None,
    ) -> Task:
        """Move a task along the state machine, or raise and change nothing.

        IllegalTransitionError: the machine forbids expected_state -> to_state.
        LostRaceError: the row is no longer at (expected_state, expected_version).
        """
        if not is_legal_transition(expected_state, to_state):
            raise IllegalTransitionError(task_id, expected_state, to_state)
        values = patch_values(patch)
        values["state"] = to_state.value
        if to_state.is_terminal:
            values["finished_at"] = now_expr(self._engine)
        return self._compare_and_set(
            task_id,
            [TASKS.c.state == expected_state.value, TASKS.c.version == expected_version],
            values,
            expected=f"{expected_state} v{expected_version}",
            from_version=expected_version,
            event=(EventKind.TRANSITION, expected_state, to_state, by_client, message),
        )

    def update(
        self,
        task_id: str,
        patch: TaskPatch,
        *,
        expected_state: TaskState,
        owner: str,
    ) -> Task:
        """Progress and resume details from the task's owner, while the task is still in
        `expected_state`; a LostRaceError here tells a worker it was cancelled or replaced."""
        values = patch_values(patch)
        if not values:
            return self.get(task_id)
        return self._compare_and_set(
            task_id,
            [TASKS.c.state == expected_state.value, TASKS.c.owner_client == owner],
            values,
            expected=f"{expected_state} owned by {owner}",
            event=None,
        )

    def retry(
        self,
        task_id: str,
        *,
        expected_state: TaskState,
        expected_version: int,
        by_client: str | None,
        message: str | None = None,
    ) -> Task:
        """Start a fresh attempt from the queue; the source client owns it again. Run details are
        cleared, but an upload a failed attempt left unfinished keeps its id (the next run
        resumes it, a cancel can still abort it)."""
        if expected_state not in RETRYABLE_STATES:
            raise IllegalTransitionError(task_id, expected_state, TaskState.QUEUED)
        cleared: dict[str, Any] = {
            name: None
            for name in (
                "rows_validated", "rows_ingested", "s3_uri", "multipart_upload_id",
                "druid_task_id", "validation_summary", "error_message", "finished_at",
                "druid_spec", "report", *PLAN_FIELDS,
            )
        }
        if expected_state is TaskState.FAILED:
            # SET reads the row as it was: this s3_uri is the failed attempt's.
            cleared["multipart_upload_id"] = case(
                (TASKS.c.s3_uri.is_(None), TASKS.c.multipart_upload_id))
        values = {
            **cleared,
            "state": TaskState.QUEUED.value,
            "progress": 0.0,
            "owner_client": TASKS.c.source_client,
        }
        return self._compare_and_set(
            task_id,
            [TASKS.c.state == expected_state.value, TASKS.c.version == expected_version],
            values,
            expected=f"{expected_state} v{expected_version}",
            from_version=expected_version,
            event=(EventKind.RETRIED, expected_state, TaskState.QUEUED, by_client, message),
        )

    def adopt(
        self, task_id: str, *, expected_version: int, by_client: str, lease: timedelta
    ) -> Task:
        """Take over a post-upload task whose owner has been silent for longer than `lease`."""
        current = self.get(task_id)
        conditions = [
            TASKS.c.version == expected_version,
            TASKS.c.state.in_([s.value for s in ADOPTABLE_STATES]),
            ~self._owner_alive(lease),
        ]
        return self._compare_and_set(
            task_id,
            conditions,
            {"owner_client": by_client},
            expected=f"v{expected_version} adoptable",
            from_version=expected_version,
            event=(
                EventKind.ADOPTED, current.state, current.state, by_client,
                f"lease of {current.owner_client or 'nobody'} lapsed",
            ),
        )

    def take_over_source(
        self, task_id: str, *, expected_version: int, by_client: str, lease: timedelta
    ) -> Task:
        """The file of an unfinished task whose owner is gone was added again on `by_client`:
        that client now holds the source, so it becomes the task's source and owner.

        LostRaceError when the task moved, finished, or its owner is still alive.
        """
        current = self.get(task_id)
        conditions = [
            TASKS.c.version == expected_version,
            TASKS.c.state.not_in([s.value for s in TaskState if s.is_terminal]),
            ~self._owner_alive(lease),
        ]
        return self._compare_and_set(
            task_id,
            conditions,
            {"owner_client": by_client, "source_client": by_client},
            expected=f"v{expected_version} unfinished, owner gone",
            from_version=expected_version,
            event=(
                EventKind.ADOPTED, current.state, current.state, by_client,
                f"file added again; lease of {current.owner_client or 'nobody'} lapsed",
            ),
        )

    # -- change feed support -------------------------------------------------------------------

    def versions(self, conn: Connection | None = None) -> dict[str, int]:
        if conn is None:
            with self._engine.connect() as own:
                return self.versions(own)
        return {task_id: version for task_id, version in conn.execute(VERSIONS)}

    def changes(
        self,
        ids: Collection[str],
        known: Mapping[str, int],
        source: ChangeSource,
        conn: Connection | None = None,
    ) -> list[TaskChange]:
        """Current rows for `ids` plus every history event after each id's known version.

        Rows and events come from one statement, hence one snapshot: a change never shows half
        its history, and the listener pays one round trip per batch of notifications.
        """
        if conn is None:
            with self._engine.connect() as own:
                return self.changes(ids, known, source, own)
        result: list[TaskChange] = []
        for chunk in _chunks(sorted(ids)):
            floor = min((known.get(task_id, 0) for task_id in chunk), default=0)
            rows = conn.execute(CHANGES, {"ids": list(chunk), "floor": floor}).mappings()
            current: Task | None = None
            events: list[TaskEvent] = []
            for row in rows:
                if current is None or row["id"] != current.id:
                    if current is not None:
                        result.append(TaskChange(current, tuple(events), source))
                    current, events = to_task(row), []
                if row["ev_id"] is not None and row["ev_version"] > known.get(row["id"], 0):
                    events.append(to_event(row, prefix="ev_"))
            if current is not None:
                result.append(TaskChange(current, tuple(events), source))
        return [c for c in result if c.task.version > known.get(c.task.id, 0)]

    # -- internals -----------------------------------------------------------------------------

    def _owner_alive(self, lease: timedelta) -> ColumnElement[bool]:
        # An alias, so the subquery never correlates with the clients join in task_select.
        owner = CLIENTS.alias("lease_owner")
        return exists(
            select(1)
            .where(
                owner.c.id == TASKS.c.owner_client,
                owner.c.last_heartbeat >= cutoff_expr(self._engine, lease),
            )
            .correlate_except(owner)
        )

    def _find(self, conn: Connection, task_id: str) -> Task | None:
        row = conn.execute(task_select().where(TASKS.c.id == task_id)).mappings().first()
        return to_task(row) if row else None

    def _read(self, conn: Connection, task_id: str) -> Task:
        task = self._find(conn, task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    def _compare_and_set(
        self,
        task_id: str,
        conditions: list[ColumnElement[bool]],
        values: dict[str, Any],
        *,
        expected: str,
        event: _Event | None,
        from_version: int | None = None,
    ) -> Task:
        values = {**values, "version": TASKS.c.version + 1, "updated_at": now_expr(self._engine)}
        return run_unit(
            self._engine,
            lambda retried: self._compare_and_set_once(
                task_id, conditions, values, expected=expected, event=event,
                landed=(from_version + 1) if retried and from_version is not None else None,
            ),
        )

    def _compare_and_set_once(
        self,
        task_id: str,
        conditions: list[ColumnElement[bool]],
        values: dict[str, Any],
        *,
        expected: str,
        event: _Event | None,
        landed: int | None,
    ) -> Task:
        """One attempt. `landed` (only on a repeat) is the version our move would have made:
        if the row is past it, its history says whether the attempt whose answer was lost
        committed our move (then it is done) or someone else moved first (a lost race)."""
        with self._engine.begin() as conn:
            row = conn.execute(
                update(TASKS)
                .where(TASKS.c.id == task_id, *conditions)
                .values(**values)
                .returning(TASKS.c.version, TASKS.c.updated_at)
            ).first()
            if row is None:
                # Raising rolls the (empty) transaction back: a lost race changes nothing.
                current = self._find(conn, task_id)
                if current is None:
                    raise TaskNotFoundError(task_id)
                if landed is not None and event is not None and self._made(conn, task_id,
                                                                            landed, event):
                    return current
                raise LostRaceError(task_id, expected, current)
            if event is not None:
                kind, source, target, by_client, message = event
                self._write_event(
                    conn, task_id, row.version, kind, source, target, row.updated_at,
                    by_client, message,
                )
            return self._read(conn, task_id)

    @staticmethod
    def _made(conn: Connection, task_id: str, version: int, event: _Event) -> bool:
        """Whether history version `version` of the task is exactly this move."""
        kind, _source, target, by_client, _message = event
        E = TASK_EVENTS.c
        query = select(E.id).where(
            E.task_id == task_id, E.version == version, E.kind == kind.value,
            E.to_state == target.value,
            E.by_client.is_(None) if by_client is None else E.by_client == by_client,
        )
        return conn.execute(query).first() is not None

    @staticmethod
    def _write_event(
        conn: Connection,
        task_id: str,
        version: int,
        kind: EventKind,
        source: TaskState | None,
        target: TaskState,
        at: datetime,
        by_client: str | None,
        message: str | None,
    ) -> None:
        conn.execute(
            insert(TASK_EVENTS).values(
                task_id=task_id,
                version=version,
                kind=kind.value,
                from_state=source.value if source else None,
                to_state=target.value,
                at=at,
                by_client=by_client,
                message=message,
            )
        )
