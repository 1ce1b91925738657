"""S3 through a network outage (the fault proxy drops part 2's connections in front of moto): the
failed task keeps its multipart upload; a rerun or a retry resumes it under the same key without
sending the stored part again; a cancel, a remove or the age sweep aborts it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from app.cli import cli
from app.domain.tasks import Task, TaskState
from app.pipeline.choices import IngestChoices
from app.pipeline.intake import file_sha256
from app.pipeline.local import LocalPipeline
from app.pipeline.moves import TaskMoves
from app.pipeline.open_uploads import (
    UploadFate,
    abort_abandoned,
    fate_of,
    list_open_uploads,
    task_id_in,
)
from app.pipeline.session import ClientRole, DeskSession
from app.pipeline.tasks import find_unfinished
from app.services.settings import Settings
from app.services.storage import OpenUpload, S3Client, make_client, object_key
from app.services.store import TaskStore
from app.services.store.models import TASKS
from tests.pipeline.test_pipeline_steps import Desk, make_desk
from tests.storage.conftest import MotoServer, s3_config
from tests.storage.fault_proxy import Fault, FaultProxy, SeenRequest, upload_part
from tests.support.waiting import wait_until

KEEP = timedelta(days=7)


@dataclass
class Outage:
    desk: Desk
    proxy: FaultProxy
    direct: S3Client  # moto itself, around the proxy
    bucket: str

    def open_uploads(self) -> list[dict]:
        return self.direct.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])

    def key(self, task: Task) -> str:
        config = self.desk.connections.s3
        return object_key(config.prefix, task.datasource, task.created_at.date(), task.id,
                          task.sha256, Settings().staging_format)


def write_noisy_source(path: Path, rows: int = 200_000) -> None:
    """Random tokens do not compress: the staged file needs two 5 MiB parts (about 8 MiB)."""
    rnd = random.Random(3)
    lines = ["when,city,token,qty"] + [
        f"2024-02-{1 + i % 3:02d} 10:{i % 60:02d}:00,city{i % 4},{rnd.randbytes(32).hex()},{i}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def outage(tmp_path: Path, moto: MotoServer, proxy: FaultProxy, bucket: str) -> Iterator[Outage]:
    desk = make_desk(tmp_path, proxy.endpoint, bucket)
    write_noisy_source(desk.source)
    yield Outage(desk, proxy, make_client(s3_config(moto.endpoint, bucket)), bucket)
    desk.store.close()


def _is_create(request: SeenRequest) -> bool:
    return request.method == "POST" and "uploads" in request.query


def fail_mid_upload(outage: Outage) -> Task:
    """Part 1 lands, then every connection carrying part 2 is dropped until retries run out."""
    outage.proxy.inject(Fault("reset", upload_part(2), times=None))
    failed = outage.desk.run(outage.desk.task())
    assert failed.state is TaskState.FAILED
    assert "resume the upload" in (failed.error_message or "")
    assert failed.multipart_upload_id and failed.s3_uri is None
    held = outage.direct.list_parts(
        Bucket=outage.bucket, Key=outage.key(failed), UploadId=failed.multipart_upload_id
    )
    assert [p["PartNumber"] for p in held.get("Parts", [])] == [1]
    outage.proxy.clear()  # the network is back; `seen` now counts only what the resume sends
    return failed


@pytest.mark.parametrize("again", ["rerun", "retry"])
def test_after_an_outage_the_same_upload_resumes_where_it_stopped(
    outage: Outage, again: str
) -> None:
    failed = fail_mid_upload(outage)
    desk = outage.desk
    if again == "rerun":
        # What `ingest` (and the window's add, through `enqueue`) does with the same file.
        choices = IngestChoices(datasource="sales")
        found = find_unfinished(desk.store, desk.client_id, choices, file_sha256(desk.source))
        assert found is not None
        task = found
    else:
        task = desk.pipeline.moves.retry(failed.id)  # `retry` and the window's Retry
    assert task.id == failed.id and task.state is TaskState.QUEUED
    assert task.multipart_upload_id == failed.multipart_upload_id
    ended = desk.run(task)
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert ended.s3_uri == f"s3://{outage.bucket}/{outage.key(failed)}"
    assert outage.proxy.parts_sent() == [2]  # part 1 was not sent again
    assert not any(_is_create(r) for r in outage.proxy.seen)  # no second multipart upload
    completed = [r.query["uploadId"] for r in outage.proxy.seen
                 if r.method == "POST" and "uploadId" in r.query]
    assert completed == [[failed.multipart_upload_id]]
    assert outage.open_uploads() == []


@pytest.mark.parametrize("how", ["cancel", "remove"])
def test_giving_up_a_failed_task_aborts_its_upload(outage: Outage, how: str) -> None:
    failed = fail_mid_upload(outage)
    other = TaskMoves(outage.desk.store, outage.desk.store.clients.register().id)
    if how == "cancel":
        notes = other.cancel(failed.id, connections=outage.desk.connections).notes
    else:
        # What the window's Remove runs on a worker.
        notes = LocalPipeline(outage.desk.store, outage.desk.pipeline, Settings()).remove(failed.id)
    assert f"Aborted the S3 upload {outage.key(failed)}." in notes
    assert outage.open_uploads() == []
    assert outage.desk.store.tasks.get(failed.id).state is TaskState.FAILED


def _age(store: TaskStore, task: Task, days: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(TASKS).where(TASKS.c.id == task.id).values(
                updated_at=task.updated_at - timedelta(days=days), version=TASKS.c.version + 1
            )
        )


def test_a_failed_upload_waits_its_time_then_the_sweep_aborts_it(outage: Outage) -> None:
    failed = fail_mid_upload(outage)
    store, uploader = outage.desk.store, outage.desk.connections.uploader
    listed = list_open_uploads(store, uploader, KEEP)
    assert [(u.task_id, u.fate) for u in listed] == [(failed.id, UploadFate.RESUMABLE)]
    assert abort_abandoned(store, uploader, KEEP) == ()
    assert len(outage.open_uploads()) == 1
    _age(store, failed, days=8)
    aborted = abort_abandoned(store, uploader, KEEP)
    assert [(a.upload.upload_id, a.problem) for a in aborted] == [
        (failed.multipart_upload_id, None)
    ]
    assert outage.open_uploads() == []


def _settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer,
                  bucket: str) -> None:
    monkeypatch.setenv("INGEST_DESK_SETTINGS_FILE", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("INGEST_DESK_DATABASE_URL", f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    monkeypatch.setenv("INGEST_DESK_S3_BUCKET", bucket)
    monkeypatch.setenv("INGEST_DESK_S3_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv("INGEST_DESK_S3_PATH_STYLE", "true")
    monkeypatch.setenv("INGEST_DESK_S3_REGION", "us-east-1")
    monkeypatch.setenv("INGEST_DESK_DRUID_URL", "http://127.0.0.1:9")


def test_doctor_lists_open_uploads_and_aborts_the_abandoned(
    outage: Outage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer
) -> None:
    failed = fail_mid_upload(outage)
    _settings_env(monkeypatch, tmp_path, moto, outage.bucket)
    listed = CliRunner().invoke(cli, ["doctor"])
    line = f"{outage.key(failed)} [resumable] task {failed.id[:8]} failed less than a day ago"
    assert line in listed.output, listed.output
    assert "ok   uploads   1 multipart upload(s) open" in listed.output
    assert len(outage.open_uploads()) == 1
    _age(outage.desk.store, failed, days=8)
    warned = CliRunner().invoke(cli, ["doctor"])
    assert "FAIL uploads" in warned.output and "1 abandoned" in warned.output, warned.output
    assert "ingest-desk doctor --abort-uploads" in warned.output
    assert len(outage.open_uploads()) == 1  # listing alone aborts nothing
    aborted = CliRunner().invoke(cli, ["doctor", "--abort-uploads"])
    line = f"{outage.key(failed)} [abandoned] task {failed.id[:8]} failed 8 day(s) ago"
    assert line in aborted.output, aborted.output
    assert "-> aborted" in aborted.output and "1 abandoned; 1 aborted" in aborted.output
    assert outage.open_uploads() == []


def test_a_session_opening_sweeps_abandoned_uploads(
    outage: Outage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto: MotoServer
) -> None:
    failed = fail_mid_upload(outage)
    _age(outage.desk.store, failed, days=8)  # failed longer ago than the time kept
    _settings_env(monkeypatch, tmp_path, moto, outage.bucket)
    session = DeskSession.open(Settings(), role=ClientRole.COMMAND_LINE)
    try:
        wait_until(lambda: outage.open_uploads() == [], "the sweep aborted the upload", 30)
    finally:
        session.close()


def test_an_upload_key_names_its_task() -> None:
    key = "ingest-desk/sales/2026-12-05/0b6c1f9e-task/0123456789abcdef.ndjson.gz"
    assert task_id_in(key, "ingest-desk") == "0b6c1f9e-task"
    assert task_id_in(key, "/ingest-desk/") == "0b6c1f9e-task"
    assert task_id_in(key, "other") is None
    assert task_id_in("ingest-desk/_by-sha256/sales/abc", "ingest-desk") is None


def test_an_upload_no_task_knows_is_left_alone_until_it_is_old() -> None:
    # Another task store may share the prefix: its uploads are not ours to judge by task.
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    key = "ingest-desk/sales/2026-12-05/other-store-task/0123456789abcdef.ndjson.gz"

    def fate(initiated: datetime | None) -> UploadFate:
        return fate_of(OpenUpload(key, "u1", initiated), None, now, KEEP)[0]

    assert fate(now - timedelta(days=1)) is UploadFate.UNKNOWN
    assert fate(None) is UploadFate.UNKNOWN
    assert fate(now - timedelta(days=8)) is UploadFate.ABANDONED
