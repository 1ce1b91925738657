"""The staged copies of the user's rows: private on disk, gone once the task succeeded or was
removed, kept for a retry after a failure until the staging folder passes its size cap."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.store import NewTask
from app.domain.tasks import IngestMode, Task, TaskState
from app.pipeline.choices import IngestOptions
from app.pipeline.local import LocalPipeline
from app.pipeline.moves import TaskMoves
from app.pipeline.staged import StagingArea, TaskFiles
from app.pipeline.steps import upload
from app.services import private_files
from app.services.settings import Settings
from app.services.store import TaskStore
from tests.pipeline.test_pipeline_steps import (
    FAST,
    Desk,
    Killed,
    ServingDruid,
    kill_at,
    make_desk,
    write_source,
)
from tests.storage.conftest import MotoServer

NO_WAIT = IngestOptions(poll_interval_s=0.01, wait=False)  # stops once Druid accepted the task
posix_only = pytest.mark.skipif(os.name == "nt", reason="Windows has no POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def folder(desk: Desk, task: Task) -> Path:
    return desk.pipeline.staging.files(task.id).folder


def run_file(desk: Desk, rows: int, name: str, options: IngestOptions = FAST) -> Task:
    """A task for a file of its own (own content, so no duplicate hold), run as far as it goes."""
    source = write_source(desk.source.with_name(name), rows=rows)
    return desk.pipeline.run(desk.task(source=source), source, options).task


@posix_only
def test_staged_files_are_written_for_this_user_only(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    # The fake Druid keeps the task running, so the run stops in ingesting with its files.
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish=None))
    ended = desk.run(desk.task(), NO_WAIT)
    assert ended.state is TaskState.INGESTING
    files = sorted(p for p in folder(desk, ended).iterdir() if p.is_file())
    assert any(p.name.startswith(ended.id) for p in files)  # the staged part itself
    assert TaskFiles(folder(desk, ended)).staging_json in files
    assert mode(desk.pipeline.staging.work_dir) == 0o700
    assert mode(folder(desk, ended)) == 0o700
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    desk.store.close()


@posix_only
def test_a_folder_an_older_version_left_open_is_made_private(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "t1").mkdir(parents=True, mode=0o755)
    work.chmod(0o755)
    (work / "t1").chmod(0o755)
    TaskFiles.for_task(work, "t1").save_spec("{}")
    assert (mode(work), mode(work / "t1"), mode(work / "t1" / "spec.json")) == (0o700,) * 2 + (
        0o600,
    )


@posix_only
def test_the_data_folder_made_for_the_staging_folder_is_private_too(tmp_path: Path) -> None:
    old = os.umask(0o022)  # as on most machines: left to it, a new folder is 0755
    try:
        data = tmp_path / "data"
        TaskFiles.for_task(data / "staging", "t1").prepare()
    finally:
        os.umask(old)
    assert (mode(data), mode(data / "staging"), mode(data / "staging" / "t1")) == (0o700,) * 3


@posix_only
def test_a_resumed_upload_makes_the_files_an_older_version_left_private(
    tmp_path: Path, moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket)
    task = desk.task()
    kill_at(monkeypatch, "uploading")
    with pytest.raises(Killed):
        desk.run(task)
    # As an older version left them: open folders, files every user can read.
    left = folder(desk, task)
    for path in (desk.pipeline.staging.work_dir, left):
        path.chmod(0o755)
    for path in left.iterdir():
        path.chmod(0o644)
    kill_at(monkeypatch, "submitted")  # the rerun takes the staged file up again, then stops
    with pytest.raises(Killed):
        desk.run(desk.store.tasks.get(task.id))
    assert (mode(desk.pipeline.staging.work_dir), mode(left)) == (0o700, 0o700)
    assert {p.name: mode(p) for p in left.iterdir()} == {p.name: 0o600 for p in left.iterdir()}
    desk.store.close()


def test_without_posix_modes_the_files_are_written_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows: os.chmod only flips the read-only flag there, so nothing is changed.
    monkeypatch.setattr(private_files, "POSIX_MODES", False)
    chmods: list[Path] = []
    monkeypatch.setattr(Path, "chmod", lambda self, *_a, **_k: chmods.append(self))
    files = TaskFiles.for_task(tmp_path / "work", "t1")
    files.prepare()
    files.save_spec('{"id": "x"}')
    files.seal()
    assert files.load_spec() == '{"id": "x"}'
    assert chmods == []


def test_a_succeeded_task_leaves_no_staged_file(
    tmp_path: Path, moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket)
    seen: list[bool] = []

    def look(point: str) -> None:
        # As the rows leave for S3: the staged file is there while the task needs it.
        if point == "uploading":
            seen.append(any(desk.pipeline.staging.work_dir.rglob(f"*.{Settings().staging_format}")))

    monkeypatch.setattr(upload, "pause_at", look)
    ended = desk.run(desk.task())
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert seen == [True]
    assert not folder(desk, ended).exists()
    assert list(desk.pipeline.staging.work_dir.iterdir()) == []
    desk.store.close()


def test_a_failed_task_keeps_its_file_for_a_retry(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish="FAILED"))
    ended = desk.run(desk.task())
    assert ended.state is TaskState.FAILED
    kept = desk.pipeline.staging.files(ended.id).load_staging()
    assert kept is not None and kept.rows == 120
    assert all(part.path.is_file() for part in kept.files)
    desk.store.close()


def test_a_removed_task_loses_its_files_now_or_once_it_ends(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish="FAILED"))
    local = LocalPipeline(desk.store, desk.pipeline, Settings())
    failed = desk.run(desk.task())
    assert failed.state is TaskState.FAILED and folder(desk, failed).is_dir()
    local.remove(failed.id)
    assert not folder(desk, failed).exists()

    # Removed while Druid still runs it: its files stay until the task has ended.
    desk.druid.finish = None
    running = run_file(desk, 90, "running.csv", NO_WAIT)
    assert running.state is TaskState.INGESTING
    local.remove(running.id)
    assert desk.pipeline.staging.tidy().removed == ()
    assert desk.pipeline.staging.files(running.id).load_staging() is not None
    assert local.cancel(running.id).task.state is TaskState.CANCELLED
    assert desk.pipeline.staging.tidy().removed == (running.id,)
    assert not folder(desk, running).exists()
    desk.store.close()


def test_staging_past_the_cap_removes_an_ended_tasks_files_never_its_own(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish="FAILED"))
    desk.pipeline.staging.cap_bytes = 0  # every byte is past the cap
    first = run_file(desk, 120, "first.csv")
    # Staged while it ran: the cap never takes a running task's file, even its own.
    assert first.state is TaskState.FAILED and folder(desk, first).is_dir()
    second = run_file(desk, 130, "second.csv")
    assert second.state is TaskState.FAILED
    assert not folder(desk, first).exists()  # removed when the second file was staged
    assert desk.pipeline.staging.files(second.id).load_staging() is not None
    desk.store.close()


# -- the cap's order, against a real store ------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TaskStore]:
    opened = TaskStore.open(f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    yield opened
    opened.close()


def stage_by_hand(area: StagingArea, store: TaskStore, client: str, size: int) -> Task:
    task = store.tasks.create(NewTask(f"f{size}.csv", size, f"{size:064x}", client, "sales",
                                      IngestMode.APPEND))
    files = area.files(task.id)
    files.prepare()
    (files.folder / f"{task.id}.ndjson.gz").write_bytes(b"x" * size)
    return task


def test_the_cap_removes_the_tasks_that_ended_first_and_never_a_running_one(
    tmp_path: Path, store: TaskStore
) -> None:
    client = store.clients.register().id
    moves = TaskMoves(store, client)
    area = StagingArea(tmp_path / "work", store.tasks.find, cap_bytes=2500)
    running = stage_by_hand(area, store, client, 1000)
    oldest = stage_by_hand(area, store, client, 1000)
    newer = stage_by_hand(area, store, client, 1000)
    orphan_folder = area.files("not-in-this-store").prepare()
    (orphan_folder / "x.ndjson.gz").write_bytes(b"x" * 10)
    oldest = moves.fail(oldest.id, "Druid said no.")
    newer = moves.cancel(newer.id).task
    assert oldest.finished_at is not None and newer.finished_at is not None
    assert oldest.finished_at <= newer.finished_at

    tidied = area.tidy()
    # 3,010 bytes over a 2,500 cap: the folder no task here owns, then the task that ended first.
    assert tidied.removed == ("not-in-this-store", oldest.id)
    assert area.files(newer.id).folder.is_dir()
    assert tidied.bytes_kept == 2000

    area.cap_bytes = 0
    everything = area.tidy()
    assert everything.removed == (newer.id,)
    assert area.files(running.id).folder.is_dir()  # queued: it has not ended
    assert everything.bytes_kept == 1000


def test_a_tidy_removes_an_ended_tasks_empty_folder_whatever_the_size(
    tmp_path: Path, store: TaskStore
) -> None:
    client = store.clients.register().id
    area = StagingArea(tmp_path / "work", store.tasks.find, cap_bytes=1 << 30)
    invalid = stage_by_hand(area, store, client, 0)
    failed = stage_by_hand(area, store, client, 100)
    TaskMoves(store, client).fail(invalid.id, "not a spreadsheet")
    TaskMoves(store, client).fail(failed.id, "Druid said no.")
    assert area.tidy().removed == (invalid.id,)
    assert area.files(failed.id).folder.is_dir()  # under the cap: kept for a retry
