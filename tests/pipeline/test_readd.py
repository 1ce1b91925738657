"""Adding a file again after its desk closed mid-way: the unfinished task is taken over and
resumed (the upload from its recorded multipart upload id), never doubled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.domain.store import EventKind
from app.domain.tasks import IngestMode, TaskState
from app.pipeline.choices import IngestChoices
from app.pipeline.local import LocalPipeline
from app.pipeline.remote_connections import Connections
from app.pipeline.runner import Runner
from app.services.settings import Settings
from app.services.storage import S3Uploader, make_client
from app.services.store import TaskStore
from tests.pipeline.follow_helpers import age_heartbeat
from tests.pipeline.test_pipeline_steps import Killed, ServingDruid, kill_at, write_source
from tests.storage.conftest import MotoServer, options, s3_config, uploader

OpenDesk = Callable[..., LocalPipeline]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TaskStore]:
    with TaskStore.open(f"sqlite:///{tmp_path / 'tasks.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def druid() -> ServingDruid:
    return ServingDruid()


@pytest.fixture
def open_desk(
    store: TaskStore, druid: ServingDruid, tmp_path: Path, moto: MotoServer, bucket: str
) -> Iterator[OpenDesk]:
    """A window's LocalPipeline on the shared store; with `uploads`, S3 and Druid configured."""
    made: list[Connections] = []

    def make(name: str, work_dir: Path | None = None, *, uploads: bool = True) -> LocalPipeline:
        client = store.clients.register(user=name)
        settings = Settings(s3_bucket=bucket, druid_url="http://druid.test:8888")
        connections = None
        if uploads:
            config = s3_config(moto.endpoint, bucket)
            connections = Connections(
                config, S3Uploader(make_client(config), config, options()), druid.client()
            )
            made.append(connections)
        folder = work_dir or tmp_path / f"work-{name}"
        runner = Runner(store, client.id, settings, connections, work_dir=folder)
        return LocalPipeline(store, runner, settings)

    yield make
    for connections in made:
        connections.close()


@pytest.mark.parametrize("same_machine", [True, False], ids=["restarted", "other-desk"])
def test_a_file_added_again_resumes_its_interrupted_upload(
    store: TaskStore,
    druid: ServingDruid,
    open_desk: OpenDesk,
    tmp_path: Path,
    moto: MotoServer,
    bucket: str,
    same_machine: bool,
) -> None:
    source = write_source(tmp_path / "sales.csv")
    first = open_desk("ann", tmp_path / "work")
    task = first.enqueue(source).task
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        kill_at(patch, "uploading")
        first.run(task.id)
    interrupted = store.tasks.get(task.id)
    assert interrupted.state is TaskState.UPLOADING and interrupted.multipart_upload_id
    store.clients.sign_off(first.client_id)  # the window closed

    # Restarted on the same machine (its staging folder is still there), or another desk.
    second = open_desk("ann-again", tmp_path / "work" if same_machine else None)
    again = second.enqueue(source).task
    assert again.id == task.id
    assert again.owner_client == again.source_client == second.client_id
    assert second.source_path(task.id) == source
    result = second.run(task.id)
    assert result.task.state is TaskState.SUCCEEDED, result.message
    assert [t.id for t in store.tasks.list_tasks()] == [task.id]  # no second task
    assert druid.submits() == 1
    assert uploader(moto.endpoint, bucket).open_uploads() == ()
    assert EventKind.ADOPTED in [e.kind for e in store.tasks.history(task.id)]


def test_a_file_whose_desk_is_alive_gets_a_task_of_its_own(
    store: TaskStore, open_desk: OpenDesk, tmp_path: Path
) -> None:
    source = write_source(tmp_path / "sales.csv")
    first = open_desk("ann", uploads=False)
    task = first.enqueue(source).task
    second = open_desk("bob", uploads=False)
    assert second.enqueue(source).task.id != task.id  # ann's desk is still there, holding it
    age_heartbeat(store, first.client_id, 120)  # ann's desk was killed
    third = open_desk("cy", uploads=False)
    assert third.enqueue(source).task.id == task.id


def test_other_choices_or_an_upload_without_s3_make_a_new_task(
    store: TaskStore, open_desk: OpenDesk, tmp_path: Path
) -> None:
    source = write_source(tmp_path / "sales.csv")
    first = open_desk("ann")
    task = first.enqueue(source).task
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        kill_at(patch, "uploading")
        first.run(task.id)
    store.clients.sign_off(first.client_id)
    second = open_desk("bob", uploads=False)
    replace_mode = IngestChoices("sales", IngestMode.REPLACE)
    assert second.enqueue(source, replace_mode).task.id != task.id
    assert second.enqueue(source, IngestChoices("sales", sheet="Other")).task.id != task.id
    # An interrupted upload needs S3 and Druid: a desk without them leaves it for one with.
    assert second.enqueue(source).task.id != task.id
    assert store.tasks.get(task.id).owner_client == first.client_id


def test_a_ready_file_is_sent_from_the_restarted_desk_once_s3_and_druid_are_set(
    store: TaskStore, druid: ServingDruid, open_desk: OpenDesk, tmp_path: Path
) -> None:
    source = write_source(tmp_path / "sales.csv")
    offline = open_desk("ann", uploads=False)
    task = offline.enqueue(source).task
    ready = offline.run(task.id).task
    assert ready.state is TaskState.READY
    assert ready.validation_summary == (
        "Valid: 120 rows. Ready to upload once S3 and Druid are set in Settings."
    )
    assert offline.run(task.id).task.state is TaskState.READY  # nothing to do without them
    store.clients.sign_off(offline.client_id)  # closed; S3 and Druid set in Settings; reopened

    restarted = open_desk("ann", uploads=True)
    claimed = restarted.claim(task.id)
    assert claimed.source_client == restarted.client_id
    ended = restarted.run(task.id)
    assert ended.task.state is TaskState.SUCCEEDED, ended.message
    assert druid.submits() == 1
    stages = [e.to_state for e in store.tasks.history(task.id)]
    assert stages[:4] == [TaskState.QUEUED, TaskState.VALIDATING, TaskState.READY,
                          TaskState.READY]  # the take-over is an event of its own
    assert stages[-1] is TaskState.SUCCEEDED


def test_retry_after_a_restart_reads_the_file_where_it_was_added(
    store: TaskStore, open_desk: OpenDesk, tmp_path: Path
) -> None:
    source = tmp_path / "orders.csv"
    source.write_text("when,qty\n2024-02-01,1\n2024-02-02,three\n,3\n", encoding="utf-8")
    first = open_desk("ann", uploads=False)
    task = first.enqueue(source).task
    assert first.run(task.id).task.state is TaskState.INVALID
    alive = open_desk("bob", uploads=False)
    with pytest.raises(FileNotFoundError, match="still open"):
        alive.retry(task.id)  # ann's desk is open and holds it
    store.clients.sign_off(first.client_id)
    restarted = open_desk("ann", uploads=False)
    again = restarted.retry(task.id)
    assert again.state is TaskState.QUEUED and again.source_client == restarted.client_id
    assert restarted.run(task.id).task.state is TaskState.INVALID
    source.unlink()
    store.clients.sign_off(restarted.client_id)
    gone = open_desk("ann", uploads=False)
    with pytest.raises(FileNotFoundError, match="is not on this desk"):
        gone.retry(task.id)
