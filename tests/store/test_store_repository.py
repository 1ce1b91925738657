"""Repository and state machine on both back ends: CAS transitions, history, leases, templates."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.domain.rules import ColumnRule, Template
from app.domain.store import EventKind, OwnerStatus, TaskPatch, owner_status
from app.domain.tasks import ADOPTABLE_STATES, LEGAL_TRANSITIONS, Task, TaskState
from app.domain.validation import ColumnType, DateOrder
from app.services.store import (
    ClientNotFoundError,
    IllegalTransitionError,
    LostRaceError,
    TaskNotFoundError,
    TaskStore,
    TemplateConflictError,
)
from app.services.store.models import CLIENTS
from tests.store.store_helpers import draft
from tests.support.waiting import wait_until

S = TaskState
HAPPY_PATH = [
    S.VALIDATING, S.UPLOADING, S.SUBMITTING, S.INGESTING, S.VERIFYING, S.SUCCEEDED,
]


def _advance(store: TaskStore, task: Task, to: TaskState, client: str = "c1") -> Task:
    return store.tasks.transition(
        task.id, to, expected_state=task.state, expected_version=task.version, by_client=client
    )


def test_create_and_read_back(store: TaskStore) -> None:
    task = store.tasks.create(draft("c1", 7))
    assert task.state is S.QUEUED and task.version == 1
    assert task.owner_client == "c1" and task.file_size == 107
    assert task.created_at.tzinfo is not None
    assert store.tasks.get(task.id) == task
    assert [t.id for t in store.tasks.list_tasks(states=[S.QUEUED])] == [task.id]
    assert store.tasks.list_tasks(states=[S.FAILED]) == []
    (event,) = store.tasks.history(task.id)
    assert (event.kind, event.from_state, event.to_state, event.version) == (
        EventKind.CREATED, None, S.QUEUED, 1,
    )
    with pytest.raises(TaskNotFoundError):
        store.tasks.get("missing")


def test_create_with_caller_id_is_idempotent(store: TaskStore) -> None:
    first = store.tasks.create(dataclasses.replace(draft("c1"), id="fixed-id"))
    again = store.tasks.create(dataclasses.replace(draft("c1"), id="fixed-id", sha256=first.sha256))
    assert again == first
    assert len(store.tasks.history("fixed-id")) == 1


def test_happy_path_writes_one_event_per_transition(store: TaskStore) -> None:
    task = store.tasks.create(draft("c1"))
    patches = {
        S.UPLOADING: TaskPatch(rows_validated=10, validation_summary="10 rows ok"),
        S.SUBMITTING: TaskPatch(s3_uri="s3://b/k", multipart_upload_id="mp-1"),
        S.INGESTING: TaskPatch(druid_task_id="index_parallel_sales_x"),
        S.SUCCEEDED: TaskPatch(rows_ingested=10, progress=1.0),
    }
    for target in HAPPY_PATH:
        task = store.tasks.transition(
            task.id, target, expected_state=task.state, expected_version=task.version,
            by_client="c1", message=f"to {target}", patch=patches.get(target),
        )
    assert task.state is S.SUCCEEDED and task.version == 7
    assert task.finished_at is not None
    assert (task.rows_validated, task.rows_ingested, task.s3_uri, task.druid_task_id) == (
        10, 10, "s3://b/k", "index_parallel_sales_x",
    )
    history = store.tasks.history(task.id)
    assert [e.version for e in history] == list(range(1, 8))
    assert [e.to_state for e in history[1:]] == HAPPY_PATH
    assert all(e.from_state == prev.to_state for prev, e in itertools.pairwise(history))


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in TaskState for t in TaskState if t not in LEGAL_TRANSITIONS[s]][::7],
)
def test_illegal_transition_raises_and_changes_nothing(
    store: TaskStore, source: TaskState, target: TaskState
) -> None:
    task = store.tasks.create(draft("c1"))
    with pytest.raises(IllegalTransitionError) as caught:
        store.tasks.transition(
            task.id, target, expected_state=source, expected_version=1, by_client="c1"
        )
    assert (caught.value.source, caught.value.target) == (source, target)
    assert store.tasks.get(task.id) == task
    assert len(store.tasks.history(task.id)) == 1


def test_lost_race_changes_nothing(store: TaskStore) -> None:
    task = store.tasks.create(draft("c1"))
    winner = _advance(store, task, S.VALIDATING, "c1")
    # The loser still holds the version-1 snapshot.
    with pytest.raises(LostRaceError) as caught:
        store.tasks.transition(
            task.id, S.CANCELLED, expected_state=S.QUEUED, expected_version=1, by_client="c2"
        )
    assert caught.value.current == winner
    # Right state but stale version also loses (an intervening progress write bumped it).
    bumped = store.tasks.update(
        task.id, TaskPatch(progress=0.4), expected_state=S.VALIDATING, owner="c1"
    )
    assert bumped.version == winner.version + 1 and bumped.progress == 0.4
    with pytest.raises(LostRaceError):
        _advance(store, winner, S.UPLOADING)
    assert store.tasks.get(task.id) == bumped
    assert len(store.tasks.history(task.id)) == 2
    with pytest.raises(TaskNotFoundError):
        store.tasks.transition(
            "nope", S.VALIDATING, expected_state=S.QUEUED, expected_version=1, by_client="c1"
        )


def test_simultaneous_writers_exactly_one_wins(store: TaskStore) -> None:
    """Eight threads fire the same compare-and-set at once: one applies, seven lose cleanly."""
    task = store.tasks.create(draft("c1"))
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        target = (S.VALIDATING, S.CANCELLED, S.FAILED)[n % 3]
        start.wait()
        try:
            store.tasks.transition(
                task.id, target, expected_state=S.QUEUED, expected_version=1, by_client=f"c{n}"
            )
            outcomes.append("won")
        except LostRaceError:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert store.tasks.get(task.id).version == 2
    assert [e.version for e in store.tasks.history(task.id)] == [1, 2]


def test_update_is_fenced_by_state_and_owner(store: TaskStore) -> None:
    task = _advance(store, store.tasks.create(draft("c1")), S.VALIDATING)
    with pytest.raises(LostRaceError):
        store.tasks.update(
            task.id, TaskPatch(progress=0.1), expected_state=S.VALIDATING, owner="c2"
        )
    cancelled = _advance(store, task, S.CANCELLED, "operator")
    # The worker's next progress report is how it learns about the cancellation.
    with pytest.raises(LostRaceError) as caught:
        store.tasks.update(
            task.id, TaskPatch(progress=0.2), expected_state=S.VALIDATING, owner="c1"
        )
    assert caught.value.current is not None and caught.value.current.state is S.CANCELLED
    assert store.tasks.get(task.id) == cancelled


def test_retry_starts_a_fresh_attempt(store: TaskStore) -> None:
    task = _advance(store, store.tasks.create(draft("c1")), S.VALIDATING)
    failed = store.tasks.transition(
        task.id, S.FAILED, expected_state=S.VALIDATING, expected_version=task.version,
        by_client="c1", patch=TaskPatch(error_message="disk full"),
    )
    assert failed.error_message == "disk full" and failed.finished_at is not None
    again = store.tasks.retry(
        task.id, expected_state=S.FAILED, expected_version=failed.version, by_client="c2"
    )
    assert again.state is S.QUEUED and again.error_message is None and again.finished_at is None
    assert again.owner_client == "c1"  # the source client holds the file
    assert store.tasks.history(task.id)[-1].kind is EventKind.RETRIED
    with pytest.raises(IllegalTransitionError):
        store.tasks.retry(task.id, expected_state=S.QUEUED, expected_version=again.version,
                          by_client="c1")


def _age_heartbeat(store: TaskStore, client_id: str, seconds: int) -> None:
    stale = store.tasks.now() - timedelta(seconds=seconds)
    with store.engine.begin() as conn:
        conn.execute(update(CLIENTS).where(CLIENTS.c.id == client_id).values(last_heartbeat=stale))


def test_adoption_only_after_lease_lapses_and_only_after_upload(store: TaskStore) -> None:
    lease = timedelta(seconds=30)
    owner = store.clients.register(user="ann", host="desk-1")
    other = store.clients.register(user="bob", host="desk-2")
    early = store.tasks.create(draft(owner.id, 1))
    late = store.tasks.create(draft(owner.id, 2))
    for target in HAPPY_PATH[:4]:
        late = _advance(store, late, target, owner.id)
    assert late.state is S.INGESTING and late.heartbeat_at is not None
    now = store.tasks.now()
    assert owner_status(late, now, lease) is OwnerStatus.OWNED
    with pytest.raises(LostRaceError):
        store.tasks.adopt(late.id, expected_version=late.version, by_client=other.id, lease=lease)
    assert store.tasks.adoptable(lease) == []

    _age_heartbeat(store, owner.id, 120)
    now = store.tasks.now()
    late, early = store.tasks.get(late.id), store.tasks.get(early.id)
    assert owner_status(late, now, lease) is OwnerStatus.ADOPTABLE
    assert owner_status(early, now, lease) is OwnerStatus.WAITING_FOR_SOURCE_CLIENT
    assert [t.id for t in store.tasks.adoptable(lease)] == [late.id]
    assert [t.id for t in store.tasks.waiting_for_source_client(lease)] == [early.id]
    # A task that needs the source file is never adopted.
    with pytest.raises(LostRaceError):
        store.tasks.adopt(early.id, expected_version=1, by_client=other.id, lease=lease)
    adopted = store.tasks.adopt(
        late.id, expected_version=late.version, by_client=other.id, lease=lease
    )
    assert adopted.owner_client == other.id and adopted.state is S.INGESTING
    assert store.tasks.history(late.id)[-1].kind is EventKind.ADOPTED
    # A second adopter holding the same snapshot loses the race.
    with pytest.raises(LostRaceError):
        store.tasks.adopt(late.id, expected_version=late.version, by_client="c3", lease=lease)
    # The original owner's stale transition is fenced out by the version bump.
    with pytest.raises(LostRaceError):
        _advance(store, late, S.VERIFYING, owner.id)
    assert owner_status(adopted, store.tasks.now(), lease) is OwnerStatus.OWNED


def test_sign_off_makes_tasks_adoptable_at_once(store: TaskStore) -> None:
    owner = store.clients.register()
    task = store.tasks.create(draft(owner.id))
    for target in HAPPY_PATH[:3]:
        task = _advance(store, task, target, owner.id)
    assert store.tasks.adoptable(timedelta(minutes=5)) == []
    store.clients.sign_off(owner.id)
    assert [t.id for t in store.tasks.adoptable(timedelta(minutes=5))] == [task.id]


def test_clients_register_and_heartbeat(store: TaskStore) -> None:
    me = store.clients.register(user="ann", host="desk-1", app_version="9.9")
    assert store.clients.get(me.id) == me
    _age_heartbeat(store, me.id, 600)
    assert store.clients.list_clients(alive_within=timedelta(minutes=1)) == []
    beat = store.clients.heartbeat(me.id)
    assert me.last_heartbeat is not None and beat >= me.last_heartbeat
    assert [c.id for c in store.clients.list_clients(alive_within=timedelta(minutes=1))] == [me.id]
    _age_heartbeat(store, me.id, 600)
    assert store.clients.list_clients(alive_within=timedelta(minutes=1)) == []
    with pytest.raises(ClientNotFoundError):
        store.clients.heartbeat("ghost")
    ticker = store.heartbeat(me.id, interval_s=0.05)
    ticker.start()
    # The ticker's beat is what brings the aged client back to life.
    wait_until(
        lambda: [c.id for c in store.clients.list_clients(alive_within=timedelta(minutes=1))]
        == [me.id],
        what="the ticker's heartbeat reached the store",
    )
    ticker.stop(sign_off=True)
    assert ticker.last_beat is not None
    assert store.clients.get(me.id).last_heartbeat is None


def test_templates_are_versioned_and_conflicts_detected(store: TaskStore) -> None:
    template = Template(
        name="weekly sales",
        datasource="sales",
        columns=(
            ColumnRule("store", type=ColumnType.TEXT, rename="store_code", regex="^[0-9]{4}$"),
            ColumnRule("amount", type=ColumnType.DECIMAL, minimum=0.0, required=True),
            ColumnRule("region", allowed=("north", "south")),
        ),
        unique=(("store", "day"),),
        timestamp_column="day",
        date_order=DateOrder.DAY_FIRST,
        timezone="Europe/Berlin",
        sheet="Data",
        mode="append",
        extra={"owner": "finance"},
    )
    first = store.templates.save(template, expected_version=0, by_client="c1")
    assert first.template == dataclasses.replace(template, version=1)
    assert first.saved_by == "c1"
    second = store.templates.save(
        dataclasses.replace(template, timezone="UTC"), expected_version=1, by_client="c2"
    )
    assert second.template.version == 2
    with pytest.raises(TemplateConflictError):
        store.templates.save(template, expected_version=1, by_client="c3")
    latest = store.templates.latest("weekly sales")
    assert latest is not None and latest.template.timezone == "UTC"
    assert [t.template.version for t in store.templates.history("weekly sales")] == [1, 2]
    assert [t.template.version for t in store.templates.list_latest()] == [2]
    assert store.templates.latest("nope") is None


def test_adoptable_states_match_domain() -> None:
    assert {S.SUBMITTING, S.INGESTING, S.VERIFYING} == ADOPTABLE_STATES
