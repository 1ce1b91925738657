"""A task's timeline from the shared history: stages, start times, durations, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.pipeline.timeline import StageOutcome, load_timeline
from app.services.store import TaskStore
from app.services.store.models import TASK_EVENTS
from tests.store.store_helpers import draft

S = TaskState
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _move(store: TaskStore, task: Task, to: TaskState, client: str, message: str | None = None):
    return store.tasks.transition(
        task.id, to, expected_state=task.state, expected_version=task.version,
        by_client=client, message=message,
    )


def _set_event_times(
    store: TaskStore, task_id: str, seconds: list[int], base: datetime = T0
) -> None:
    """Pin each event (in version order) to base + seconds, so durations are exact."""
    events = store.tasks.history(task_id)  # read first: SQLite locks out readers while writing
    with store.tasks.engine.begin() as conn:
        for event, offset in zip(events, seconds, strict=True):
            conn.execute(
                update(TASK_EVENTS)
                .where(TASK_EVENTS.c.id == event.id)
                .values(at=base + timedelta(seconds=offset))
            )


def test_finished_task_has_one_stage_per_state_with_durations(store: TaskStore) -> None:
    me = store.clients.register(user="ann")
    task = store.tasks.create(draft(me.id))
    for state in (S.VALIDATING, S.UPLOADING, S.SUBMITTING, S.INGESTING, S.VERIFYING):
        task = _move(store, task, state, me.id)
    # Progress reports bump the version but are not stages.
    task = store.tasks.update(
        task.id, TaskPatch(progress=0.5), expected_state=S.VERIFYING, owner=me.id
    )
    task = _move(store, task, S.SUCCEEDED, me.id, "1,000 rows in Druid")
    _set_event_times(store, task.id, [0, 2, 14, 74, 75, 195, 200])

    timeline = load_timeline(store, task.id)

    assert [s.state for s in timeline.stages] == [
        S.QUEUED, S.VALIDATING, S.UPLOADING, S.SUBMITTING, S.INGESTING, S.VERIFYING,
    ]
    assert [s.started for s in timeline.stages] == [
        T0 + timedelta(seconds=n) for n in (0, 2, 14, 74, 75, 195)
    ]
    assert [s.duration for s in timeline.stages] == [
        timedelta(seconds=n) for n in (2, 12, 60, 1, 120, 5)
    ]
    assert [s.outcome for s in timeline.stages] == [StageOutcome.DONE] * 5 + [
        StageOutcome.SUCCEEDED
    ]
    assert timeline.stages[-1].message == "1,000 rows in Druid"
    assert timeline.running is None
    assert timeline.version == task.version == 8
    assert all(s.by_client == me.id and s.attempt == 1 for s in timeline.stages)


def test_running_stage_shows_elapsed_time_against_the_store_clock(store: TaskStore) -> None:
    me = store.clients.register()
    task = store.tasks.create(draft(me.id))
    task = _move(store, task, S.VALIDATING, me.id)
    # The running stage began 40 s before the store's clock was read.
    _set_event_times(store, task.id, [-100, -40], base=store.tasks.now())

    timeline = load_timeline(store, task.id)

    running = timeline.running
    assert running is not None and running.state is S.VALIDATING
    assert running.outcome is StageOutcome.RUNNING and running.duration is None
    assert timeline.stages[0].duration == timedelta(seconds=60)
    elapsed = timeline.elapsed(running)
    assert elapsed == timeline.as_of - running.started and elapsed >= timedelta(seconds=40)
    later = timeline.elapsed(running, since_read=timedelta(seconds=5))
    assert later == elapsed + timedelta(seconds=5)


def test_failure_retry_and_adoption(store: TaskStore) -> None:
    ann = store.clients.register(user="ann")
    bob = store.clients.register(user="bob")
    task = store.tasks.create(draft(ann.id))
    task = _move(store, task, S.VALIDATING, ann.id)
    task = _move(store, task, S.FAILED, ann.id, "The disk is full.")
    task = store.tasks.retry(
        task.id, expected_state=S.FAILED, expected_version=task.version, by_client=ann.id
    )
    for state in (S.VALIDATING, S.UPLOADING, S.SUBMITTING):
        task = _move(store, task, state, ann.id)
    store.clients.sign_off(ann.id)
    task = store.tasks.adopt(
        task.id, expected_version=task.version, by_client=bob.id, lease=timedelta(minutes=5)
    )
    task = _move(store, task, S.INGESTING, bob.id)
    _set_event_times(store, task.id, [0, 1, 3, 10, 11, 20, 30, 35, 50])

    timeline = load_timeline(store, task.id)

    stages = timeline.stages
    assert [(s.state, s.attempt) for s in stages] == [
        (S.QUEUED, 1), (S.VALIDATING, 1),
        (S.QUEUED, 2), (S.VALIDATING, 2), (S.UPLOADING, 2), (S.SUBMITTING, 2),
        (S.INGESTING, 2),
    ]
    assert stages[1].outcome is StageOutcome.FAILED and stages[1].message == "The disk is full."
    assert stages[1].duration == timedelta(seconds=2)
    # The failed attempt ended at 3 s; the retry queued the task again at 10 s.
    assert stages[2].started == T0 + timedelta(seconds=10)
    # Submitting ran from 30 s to 50 s, with the adoption at 35 s noted, not a stage of its own.
    assert stages[5].duration == timedelta(seconds=20)
    assert len(stages[5].notes) == 1 and bob.id in stages[5].notes[0]
    assert stages[6].by_client == bob.id and stages[6].outcome is StageOutcome.RUNNING


def test_unknown_task_has_an_empty_timeline(store: TaskStore) -> None:
    timeline = load_timeline(store, "no-such-task")
    assert timeline.stages == () and timeline.version == 0 and timeline.running is None
