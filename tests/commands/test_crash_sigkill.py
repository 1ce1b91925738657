"""SIGKILL the pipeline (`ingest-desk ingest`, its own process) at each step, with no Druid: the
fake Overlord runs in a process of its own, so it outlives the kill and remembers every task it
was sent. A rerun must resume the same task and ingest exactly once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.tasks import TaskState
from app.services.storage import make_client
from app.services.store.tempcluster import TempPostgres
from tests.pipeline.cli_helpers import wait_for_line
from tests.storage.conftest import MotoServer, s3_config
from tests.store.conftest import create_database

from .conftest import Desk, desk_environment, illegal_moves, write_csv
from .overlord import OverlordProcess


@pytest.fixture
def overlord_process() -> Iterator[OverlordProcess]:
    process = OverlordProcess()
    yield process
    process.stop()


@pytest.fixture
def crash_desk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer, bucket: str,
    pg_server: TempPostgres, overlord_process: OverlordProcess,
) -> Desk:
    return desk_environment(
        monkeypatch, tmp_path, create_database(pg_server), s3_endpoint=moto.endpoint,
        bucket_name=bucket, druid_url=overlord_process.url,
    )


def open_uploads(moto: MotoServer, bucket: str) -> list[str]:
    client = make_client(s3_config(moto.endpoint, bucket))
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


@pytest.mark.parametrize(
    ("point", "killed_in"),
    [
        ("validating", TaskState.VALIDATING),
        ("uploading", TaskState.UPLOADING),
        ("submitted", TaskState.SUBMITTING),
        ("ingesting", TaskState.INGESTING),
        ("verifying", TaskState.VERIFYING),
    ],
)
def test_a_sigkill_at_any_step_then_a_rerun_ingests_exactly_once(
    point: str, killed_in: TaskState, crash_desk: Desk, overlord_process: OverlordProcess,
    moto: MotoServer, bucket: str, tmp_path: Path,
) -> None:
    source = write_csv(tmp_path / f"crash_{point}.csv", rows=400)
    args = ("ingest", str(source), "--datasource", "sales", "--wait")
    process = crash_desk.start(*args, INGEST_DESK_TEST_PAUSE_AT=point)
    try:
        wait_for_line(process, f"test pause at {point}")
    finally:
        process.send_signal(signal.SIGKILL)  # no cleanup runs: no finally, no atexit
        process.wait()
    assert process.returncode == -signal.SIGKILL
    (killed,) = crash_desk.tasks("sales")
    assert killed.state is killed_in

    rerun = crash_desk.run(*args)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"resuming task {killed.id[:8]} from {killed_in}" in rerun.stdout
    (task,) = crash_desk.tasks("sales")  # resumed, not started over
    assert task.id == killed.id
    assert task.state is TaskState.SUCCEEDED
    assert task.rows_ingested == 400

    # One Druid task for the datasource (one file, one interval): a resubmit after the kill
    # carries the same id and is refused as existing, never run twice.
    submitted = overlord_process.submissions("sales")
    assert [s["id"] for s in submitted if s["accepted"]] == [task.druid_task_id]
    assert {s["id"] for s in submitted} == {task.druid_task_id}
    if point == "submitted":
        assert len(submitted) == 2, submitted  # sent again by the rerun, and refused
    assert overlord_process.status(task.druid_task_id or "") == "SUCCESS"
    assert open_uploads(moto, bucket) == []
    assert illegal_moves(crash_desk.history(task.id)) == []
