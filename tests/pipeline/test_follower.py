"""The follower on a real store (SQLite and PostgreSQL), moto's S3 and the fake Druid: tasks a
desk that is gone left after the upload are adopted by the leader and carried to the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from app.domain.store import EventKind, NewTask
from app.domain.tasks import IngestMode, Task, TaskState
from app.pipeline.follower import Follower, FollowTick
from app.pipeline.intake import file_sha256
from app.pipeline.remote_connections import Connections
from app.pipeline.runner import Runner
from app.pipeline.tasks import OWNER_LEASE
from app.services.settings import Settings
from app.services.storage import S3Uploader, make_client
from app.services.store import TaskStore
from tests.pipeline.follow_helpers import age_heartbeat, left_in
from tests.pipeline.test_pipeline_steps import (
    FAST,
    Killed,
    ServingDruid,
    kill_at,
    write_source,
)
from tests.storage.conftest import MotoServer, options, s3_config
from tests.store.conftest import pg_server, pg_url  # noqa: F401
from tests.support.waiting import wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tasks.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    with TaskStore.open(url) as opened:
        yield opened


@dataclass
class Desk:
    """One client on the shared store, with its own staging folder."""

    client_id: str
    pipeline: Runner
    work_dir: Path


@pytest.fixture
def druid() -> ServingDruid:
    return ServingDruid()


OpenDesk = Callable[..., Desk]


@pytest.fixture
def open_desk(
    store: TaskStore, druid: ServingDruid, tmp_path: Path, moto: MotoServer, bucket: str
) -> Iterator[OpenDesk]:
    made: list[Connections] = []

    def make(name: str, work_dir: Path | None = None) -> Desk:
        config = s3_config(moto.endpoint, bucket)
        connections = Connections(
            config, S3Uploader(make_client(config), config, options()), druid.client()
        )
        made.append(connections)
        client = store.clients.register(user=name, host=f"{name}-desk")
        settings = Settings(s3_bucket=bucket, druid_url="http://druid.test:8888")
        folder = work_dir or tmp_path / f"work-{name}"
        pipeline = Runner(store, client.id, settings, connections, work_dir=folder)
        return Desk(client.id, pipeline, folder)

    yield make
    for connections in made:
        connections.close()


def follower_for(store: TaskStore, desk: Desk) -> Follower:
    return Follower(store, desk.client_id, desk.pipeline, options=FAST, retry_interval_s=0.1)


def new_task(store: TaskStore, client_id: str, source: Path) -> Task:
    return store.tasks.create(
        NewTask(source.name, source.stat().st_size, file_sha256(source), client_id, "sales",
                IngestMode.APPEND),
        by_client=client_id,
    )


def kinds(store: TaskStore, task: Task) -> list[EventKind]:
    return [event.kind for event in store.tasks.history(task.id)]


def test_a_task_left_ingesting_by_a_signed_off_desk_is_adopted_and_succeeds(
    store: TaskStore, druid: ServingDruid, open_desk: OpenDesk, tmp_path: Path
) -> None:
    gone = open_desk("ann")
    source = write_source(tmp_path / "sales.csv")
    task = new_task(store, gone.client_id, source)
    # `ingest` without --wait: the desk stops once Druid accepted the task, then closes.
    left = gone.pipeline.run(task, source, replace(FAST, wait=False)).task
    assert left.state is TaskState.INGESTING
    store.clients.sign_off(gone.client_id)

    here = open_desk("bob")
    follower = follower_for(store, here)
    try:
        tick = follower.tick()
        assert tick.leader
        assert [t.id for t in tick.adopted] == [task.id]
        assert tick.adopted[0].owner_client == here.client_id
        outcome = follower.run(tick.adopted[0])
        assert outcome.task.state is TaskState.SUCCEEDED, outcome.message
        assert outcome.task.rows_ingested == 120
        assert druid.submits() == 1  # followed, never submitted again
        assert EventKind.ADOPTED in kinds(store, task)
        assert follower.tick().adopted == ()  # nothing left to pick up
    finally:
        follower.close()


def test_a_task_owned_by_a_live_client_is_left_alone(
    store: TaskStore, open_desk: OpenDesk
) -> None:
    owner = open_desk("ann")
    task = left_in(store, owner.client_id, TaskState.VERIFYING)
    here = open_desk("bob")
    follower = follower_for(store, here)
    try:
        tick = follower.tick()
        assert tick.leader and tick.adopted == () and tick.lost == ()
        untouched = store.tasks.get(task.id)
        assert untouched.owner_client == owner.client_id and untouched.version == task.version
        # Killed instead of closed: its heartbeat stops, and once the lease lapses it is adopted.
        age_heartbeat(store, owner.client_id, 120)
        assert [t.id for t in follower.tick().adopted] == [task.id]
    finally:
        follower.close()


def test_tasks_running_here_and_beyond_the_limit_wait(
    store: TaskStore, open_desk: OpenDesk
) -> None:
    gone = open_desk("ann")
    first = left_in(store, gone.client_id, TaskState.INGESTING)
    second = left_in(store, gone.client_id, TaskState.SUBMITTING)
    store.clients.sign_off(gone.client_id)
    follower = follower_for(store, open_desk("bob"))
    try:
        tick = follower.tick(running={first.id}, limit=0)
        assert tick.leader and tick.adopted == () and tick.deferred == 1
        tick = follower.tick(running={first.id}, limit=5)
        assert [t.id for t in tick.adopted] == [second.id] and tick.deferred == 0
        assert store.tasks.get(first.id).owner_client == gone.client_id
    finally:
        follower.close()


def test_a_lost_adoption_race_is_skipped(
    store: TaskStore, open_desk: OpenDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = open_desk("ann")
    task = left_in(store, gone.client_id, TaskState.INGESTING)
    store.clients.sign_off(gone.client_id)
    listed = store.tasks.adoptable(OWNER_LEASE)
    rival = open_desk("cy")
    taken = store.tasks.adopt(
        task.id, expected_version=task.version, by_client=rival.client_id, lease=OWNER_LEASE
    )
    # The follower read the list a moment before the rival's compare-and-set landed.
    monkeypatch.setattr(store.tasks, "adoptable", lambda lease: listed)
    follower = follower_for(store, open_desk("bob"))
    try:
        tick = follower.tick()
        assert tick.leader and tick.adopted == () and tick.lost == (task.id,)
        assert store.tasks.get(task.id).version == taken.version
    finally:
        follower.close()


def test_a_submit_whose_spec_was_never_recorded_fails_with_a_sentence(
    store: TaskStore, druid: ServingDruid, open_desk: OpenDesk
) -> None:
    gone = open_desk("ann")
    # Left in submitting by an older version, which kept the spec on its own disk.
    task = left_in(store, gone.client_id, TaskState.SUBMITTING)
    store.clients.sign_off(gone.client_id)
    follower = follower_for(store, open_desk("bob"))
    try:
        (adopted,) = follower.tick().adopted
        outcome = follower.run(adopted)
    finally:
        follower.close()
    assert outcome.task.state is TaskState.FAILED
    assert outcome.task.error_message == (
        f"Druid never received task {task.druid_task_id} and its spec was not recorded: "
        "retry the task on the desk that holds the file."
    )
    assert druid.submits() == 0


def test_another_desk_submits_the_recorded_spec_of_a_desk_that_died_before_submitting(
    store: TaskStore, druid: ServingDruid, open_desk: OpenDesk, tmp_path: Path
) -> None:
    killed = open_desk("ann")
    source = write_source(tmp_path / "sales.csv")
    task = new_task(store, killed.client_id, source)
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        kill_at(patch, "submitted")
        killed.pipeline.run(task, source, FAST)
    # As if the kill came just before the submit reached Druid: Druid never heard of it.
    druid_task_id = store.tasks.get(task.id).druid_task_id or ""
    del druid.tasks[druid_task_id]
    druid.rows.clear()
    age_heartbeat(store, killed.client_id, 120)
    elsewhere = open_desk("bob")  # another machine: none of ann's files
    follower = follower_for(store, elsewhere)
    try:
        (adopted,) = follower.tick().adopted
        outcome = follower.run(adopted)
    finally:
        follower.close()
    assert outcome.task.state is TaskState.SUCCEEDED, outcome.message
    assert "Druid SQL counts 120" in (outcome.task.validation_summary or "")
    assert list(druid.tasks) == [druid_task_id]


def test_a_desk_killed_after_submit_is_finished_by_its_restart_with_one_druid_task(
    store: TaskStore,
    druid: ServingDruid,
    open_desk: OpenDesk,
    tmp_path: Path,
) -> None:
    killed = open_desk("ann")
    source = write_source(tmp_path / "sales.csv")
    task = new_task(store, killed.client_id, source)
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        kill_at(patch, "submitted")
        killed.pipeline.run(task, source, FAST)
    assert store.tasks.get(task.id).state is TaskState.SUBMITTING
    age_heartbeat(store, killed.client_id, 120)
    # The restarted app registers anew, on the same machine: the saved spec is still there.
    restarted = open_desk("ann-again", work_dir=killed.work_dir)
    follower = follower_for(store, restarted)
    try:
        (adopted,) = follower.tick().adopted
        outcome = follower.run(adopted)
    finally:
        follower.close()
    assert outcome.task.state is TaskState.SUCCEEDED, outcome.message
    assert list(druid.tasks) == [outcome.task.druid_task_id]  # "already exists" counted


@pytest.mark.postgres
def test_two_desks_on_one_postgres_only_the_leader_adopts(
    pg_url: str, druid: ServingDruid, tmp_path: Path, moto: MotoServer, bucket: str  # noqa: F811
) -> None:
    stores = [TaskStore.open(pg_url), TaskStore.open(pg_url)]
    followers: list[Follower] = []
    made: list[Connections] = []

    def desk(store: TaskStore, name: str, acquire_wait_s: float) -> Follower:
        config = s3_config(moto.endpoint, bucket)
        connections = Connections(
            config, S3Uploader(make_client(config), config, options()), druid.client()
        )
        made.append(connections)
        client = store.clients.register(user=name)
        settings = Settings(s3_bucket=bucket, druid_url="http://druid.test:8888")
        pipeline = Runner(
            store, client.id, settings, connections, work_dir=tmp_path / name
        )
        follower = Follower(
            store, client.id, pipeline, options=FAST, retry_interval_s=0.1,
            acquire_wait_s=acquire_wait_s,
        )
        followers.append(follower)
        return follower

    try:
        gone = stores[0].clients.register(user="ann")
        first = left_in(stores[0], gone.id, TaskState.INGESTING)
        second = left_in(stores[0], gone.id, TaskState.VERIFYING)
        stores[0].clients.sign_off(gone.id)
        alice, bob = desk(stores[0], "alice", 10.0), desk(stores[1], "bob", 0.5)
        tick = alice.tick(limit=1)
        assert tick.leader and [t.id for t in tick.adopted] == [first.id] and tick.deferred == 1
        assert bob.tick() == FollowTick(leader=False)
        assert bob.tick() == FollowTick(leader=False) and not bob.is_leader
        assert stores[1].tasks.get(second.id).owner_client == gone.id
        # Alice closes; Bob's campaign wins the lock and he picks up what she left waiting.
        alice.close()
        def leading_tick() -> FollowTick | None:
            tick = bob.tick()
            return tick if tick.leader else None

        tick = wait_until(leading_tick, what="bob became the leader")
        assert [t.id for t in tick.adopted] == [second.id]
        assert stores[1].tasks.get(first.id).owner_client == alice.client_id
    finally:
        for follower in followers:
            follower.close()
        for connections in made:
            connections.close()
        for store in stores:
            store.close()


def test_a_closed_follower_never_campaigns_again(store: TaskStore, open_desk: OpenDesk) -> None:
    gone = open_desk("ann")
    task = left_in(store, gone.client_id, TaskState.INGESTING)
    store.clients.sign_off(gone.client_id)
    follower = follower_for(store, open_desk("bob"))
    follower.close()  # the window closed before its first tick ran
    assert follower.tick() == FollowTick(leader=False)
    assert not follower.is_leader
    assert store.tasks.get(task.id).owner_client == gone.client_id
