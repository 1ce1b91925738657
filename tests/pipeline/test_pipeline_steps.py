"""Pipeline steps against an embedded SQLite store, moto's S3 server and the fault-injecting fake
Druid: the happy path, duplicates, Druid and S3 failures, cancel, and resume after a kill."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.domain.druid import Interval
from app.domain.store import NewTask, TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState, VerifyPlan
from app.pipeline.choices import IngestOptions
from app.pipeline.intake import file_sha256
from app.pipeline.moves import TaskMoves
from app.pipeline.remote_connections import Connections
from app.pipeline.runner import Runner
from app.pipeline.steps import follow, gate, submit, upload
from app.pipeline.steps.base import Job, Pool
from app.pipeline.steps.upload import druid_attempt
from app.services.druid import DruidClient, RetryPolicy
from app.services.settings import Settings
from app.services.storage import S3Uploader, make_client, object_key
from app.services.store import TaskStore
from app.services.store.models import TASKS
from tests.druid.fake import FakeDruid, druid_report, sql_rows
from tests.storage.conftest import MotoServer, options, s3_config
from tests.support.waiting import wait_until

FAST = IngestOptions(poll_interval_s=0.01, verify_timeout_s=0.3)


@dataclass
class ServingDruid(FakeDruid):
    """The fake Overlord plus a broker that counts rows: submitted tasks finish as told."""

    rows: dict[str, int] = field(default_factory=dict)
    finish: str | None = "SUCCESS"  # None leaves the task RUNNING
    failure: str = "java.lang.RuntimeException: s3://bucket/key: Access Denied"
    lose_rows: int = 0

    def _submit(self, spec: dict[str, Any]) -> httpx.Response:
        answer = super()._submit(spec)
        task_id, datasource = spec["id"], spec["spec"]["dataSchema"]["dataSource"]
        if answer.status_code != 200 or self.finish is None:
            return answer
        rows = spec["context"]["ingestDesk"]["rows"] - self.lose_rows
        self.tasks[task_id]["statusCode"] = self.finish
        if self.finish == "FAILED":
            self.tasks[task_id]["errorMsg"] = self.failure
            self.reports[task_id] = druid_report(task_id, processed=0, parallel=False)
            payload = self.reports[task_id]["ingestionStatsAndErrors"]["payload"]
            payload["errorMsg"] = self.failure
        else:
            self.reports[task_id] = druid_report(task_id, processed=rows, parallel=False)
            self.rows[datasource] = self.rows.get(datasource, 0) + rows
        return answer

    def _sql(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        if "INFORMATION_SCHEMA.TABLES" in query:
            return sql_rows(["TABLE_NAME"], *[[name] for name in self.rows])
        if "INFORMATION_SCHEMA.COLUMNS" in query:
            return sql_rows(["COLUMN_NAME", "DATA_TYPE"])
        for name, count in self.rows.items():
            if f'"{name}"' in query:
                return sql_rows(["n"], [count])
        return super()._sql(request)

    def submits(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.url.path.endswith("/task"))


@dataclass
class Desk:
    store: TaskStore
    client_id: str
    pipeline: Runner
    connections: Connections
    druid: ServingDruid
    source: Path

    def task(self, mode: IngestMode = IngestMode.APPEND, source: Path | None = None) -> Task:
        path = source or self.source
        return self.store.tasks.create(
            NewTask(path.name, path.stat().st_size, file_sha256(path), self.client_id, "sales",
                    mode),
        )

    def run(self, task: Task, opts: IngestOptions = FAST) -> Task:
        return self.pipeline.run(task, self.source, opts).task


def write_source(path: Path, rows: int = 120) -> Path:
    lines = ["when,city,qty"] + [
        f"2024-02-{1 + i % 3:02d} 10:{i % 60:02d}:00,city{i % 4},{i}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_desk(tmp_path: Path, endpoint: str, bucket: str, druid_client: DruidClient | None = None,
              fake: ServingDruid | None = None, store_url: str | None = None) -> Desk:
    fake = fake or ServingDruid()
    config = s3_config(endpoint, bucket)
    uploader = S3Uploader(make_client(config), config, options())
    connections = Connections(config, uploader, druid_client or fake.client())
    store = TaskStore.open(store_url or f"sqlite:///{tmp_path / 'tasks.sqlite3'}")
    client = store.clients.register()
    settings = Settings(s3_bucket=bucket, druid_url="http://druid.test:8888")
    pipeline = Runner(store, client.id, settings, connections, work_dir=tmp_path / "work")
    return Desk(store, client.id, pipeline, connections, fake, write_source(tmp_path / "s.csv"))


@pytest.fixture
def desk(tmp_path: Path, moto: MotoServer, bucket: str) -> Iterator[Desk]:
    made = make_desk(tmp_path, moto.endpoint, bucket)
    yield made
    made.store.close()


class Killed(BaseException):
    """Stands in for SIGKILL: nothing in the pipeline catches a BaseException."""


def kill_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def pause(name: str) -> None:
        if name == point:
            raise Killed(name)

    for module in (gate, upload, submit, follow):
        monkeypatch.setattr(module, "pause_at", pause)


def states(store: TaskStore, task: Task) -> list[TaskState]:
    return [event.to_state for event in store.tasks.history(task.id)]


def test_a_valid_file_goes_all_the_way_with_druids_figures(desk: Desk) -> None:
    ended = desk.run(desk.task())
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert states(desk.store, ended) == [
        TaskState.QUEUED, TaskState.VALIDATING, TaskState.UPLOADING, TaskState.SUBMITTING,
        TaskState.INGESTING, TaskState.VERIFYING, TaskState.SUCCEEDED,
    ]
    assert ended.rows_validated == ended.rows_ingested == 120
    assert ended.validation_summary is not None and "SQL counts 120" in ended.validation_summary
    assert desk.druid.submits() == 1
    assert desk.connections.uploader.open_uploads() == ()
    marker = desk.connections.index.find("sales", ended.sha256)
    assert marker is not None and marker.task_id == ended.id


def test_a_duplicate_is_held_for_a_decision_then_allowed(desk: Desk) -> None:
    first = desk.run(desk.task())
    second = desk.run(desk.task())
    assert second.state is TaskState.NEEDS_REVIEW
    assert "already ingested into sales" in (second.validation_summary or "")
    assert desk.druid.submits() == 1
    allowed = desk.run(second, IngestOptions(poll_interval_s=0.01, allow_duplicate=True))
    assert allowed.state is TaskState.SUCCEEDED, allowed.error_message
    assert allowed.druid_task_id != first.druid_task_id  # its own Druid task, not "exists"


def test_a_failed_druid_task_fails_the_task_with_druids_reason(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish="FAILED"))
    ended = desk.run(desk.task())
    assert ended.state is TaskState.FAILED
    assert ended.error_message is not None
    assert f"Druid task {ended.druid_task_id} failed" in ended.error_message
    assert "Access Denied" in ended.error_message


def test_a_row_count_mismatch_fails_with_the_figures(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(lose_rows=3))
    ended = desk.run(desk.task())
    assert ended.state is TaskState.FAILED
    assert "processed 117 of 120 validated rows" in (ended.error_message or "")


def test_an_unreachable_druid_fails_with_a_clear_message(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    nowhere = DruidClient(
        "http://127.0.0.1:9", timeout_s=1, retry=RetryPolicy(attempts=2, initial_wait_s=0.01,
                                                             max_wait_s=0.02)
    )
    desk = make_desk(tmp_path, moto.endpoint, bucket, druid_client=nowhere)
    ended = desk.run(desk.task())
    assert ended.state is TaskState.FAILED
    assert "Druid at http://127.0.0.1:9 did not answer" in (ended.error_message or "")
    assert "unexpectedly" not in (ended.error_message or "")


def test_a_missing_bucket_fails_with_s3s_explanation(tmp_path: Path, moto: MotoServer) -> None:
    desk = make_desk(tmp_path, moto.endpoint, "no-such-bucket-here")
    ended = desk.run(desk.task())
    assert ended.state is TaskState.FAILED
    assert "no-such-bucket-here" in (ended.error_message or "")
    assert ended.state is TaskState.FAILED and desk.druid.submits() == 0


def test_cancel_while_ingesting_shuts_the_druid_task_down(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish=None))
    task = desk.task()
    outcome: list[Task] = []
    worker = threading.Thread(target=lambda: outcome.append(desk.run(task)))
    worker.start()
    wait_until(
        lambda: desk.store.tasks.get(task.id).state is TaskState.INGESTING,
        timeout=30, what="the task was ingesting",
    )
    other = desk.store.clients.register()
    cancelled = TaskMoves(desk.store, other.id).cancel(
        task.id, "Cancelled by the user.", desk.connections
    )
    worker.join(30)
    assert cancelled.task.state is TaskState.CANCELLED
    assert any("was shut down" in note for note in cancelled.notes)
    assert outcome and outcome[0].state is TaskState.CANCELLED
    assert desk.druid.tasks[cancelled.task.druid_task_id or ""]["statusCode"] == "FAILED"
    again = desk.pipeline.moves.retry(task.id)
    assert again.state is TaskState.QUEUED and again.druid_task_id is None


def test_a_kill_right_after_submit_resumes_with_one_druid_task(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = desk.task()
    kill_at(monkeypatch, "submitted")
    with pytest.raises(Killed):
        desk.run(task)
    assert desk.store.tasks.get(task.id).state is TaskState.SUBMITTING
    monkeypatch.undo()
    ended = desk.run(task)
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert desk.druid.submits() == 2  # the rerun submitted again ...
    assert list(desk.druid.tasks) == [ended.druid_task_id]  # ... and Druid said "already exists"


def test_a_kill_mid_upload_resumes_and_leaves_no_upload_open(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = desk.task()
    kill_at(monkeypatch, "uploading")
    with pytest.raises(Killed):
        desk.run(task)
    killed = desk.store.tasks.get(task.id)
    assert killed.state is TaskState.UPLOADING and killed.multipart_upload_id
    # A run killed between starting an upload and recording its id leaves an orphan too.
    config = desk.connections.s3
    key = object_key(config.prefix, "sales", killed.created_at.date(), task.id, task.sha256,
                     "ndjson.gz")
    desk.connections.uploader.client.create_multipart_upload(Bucket=config.bucket, Key=key)
    assert len(desk.connections.uploader.open_uploads()) == 2
    monkeypatch.undo()
    ended = desk.run(killed)
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert desk.connections.uploader.open_uploads() == ()
    assert desk.druid.submits() == 1


def test_a_kill_during_validation_validates_again_in_place(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = desk.task()
    kill_at(monkeypatch, "validating")
    with pytest.raises(Killed):
        desk.run(task)
    assert desk.store.tasks.get(task.id).state is TaskState.VALIDATING
    monkeypatch.undo()
    ended = desk.run(task)
    assert ended.state is TaskState.SUCCEEDED, ended.error_message
    assert states(desk.store, ended).count(TaskState.VALIDATING) == 1


def test_the_verify_plan_is_typed_data_on_the_task(desk: Desk) -> None:
    ended = desk.run(desk.task())
    plan = ended.verify_plan
    assert plan is not None and plan.rows == 120 and plan.baseline == 0
    # 120 rows over 2024-02-01 .. 2024-02-03 make one MONTH chunk (see druid.granularity).
    assert plan.interval.iso == "2024-02-01T00:00:00.000Z/2024-03-01T00:00:00.000Z"
    assert json.loads(desk.store.tasks.druid_spec(ended.id) or "{}")["id"] == ended.druid_task_id


def test_a_plan_before_1970_round_trips_through_the_store(desk: Desk) -> None:
    task = desk.task()
    plan = VerifyPlan(Interval(-1_738_368_000_000, -34_128_000_000), baseline=0, rows=649)
    desk.store.tasks.update(
        task.id, TaskPatch(verify_plan=plan), expected_state=TaskState.QUEUED,
        owner=desk.client_id,
    )
    assert desk.store.tasks.get(task.id).verify_plan == plan
    assert plan.expected == 649


def test_a_task_without_a_plan_fails_instead_of_succeeding(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = desk.task()
    kill_at(monkeypatch, "ingesting")
    with pytest.raises(Killed):
        desk.run(task)
    monkeypatch.undo()
    # As a task uploaded by an older version, whose plan rode in a history message: none here.
    with desk.store.tasks.engine.begin() as conn:
        conn.execute(
            update(TASKS).where(TASKS.c.id == task.id)
            .values(verify_start_ms=None, version=TASKS.c.version + 1)
        )
    ended = desk.run(desk.store.tasks.get(task.id))
    assert ended.state is TaskState.FAILED
    assert "No verification plan was recorded" in (ended.error_message or "")


def test_druid_attempts_are_stable_and_distinct(desk: Desk) -> None:
    task = desk.task()
    assert druid_attempt(task, 0, earlier_ids=False) == 0
    first = druid_attempt(task, 1, earlier_ids=False)
    assert first == druid_attempt(task, 1, earlier_ids=False) > 0
    assert druid_attempt(task, 2, earlier_ids=False) != first


class _NeverCounted(ServingDruid):
    """Druid ingested the rows, but SQL never sees them (segments that do not load)."""

    def _sql(self, request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        if "COUNT(*)" in query and "INFORMATION_SCHEMA" not in query:
            return sql_rows(["n"], [0])
        return super()._sql(request)


def test_a_closing_desk_stops_verifying_at_once_and_leaves_the_task_for_later(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=_NeverCounted())
    task = desk.task()
    closing = threading.Event()

    def stop_check() -> bool:
        if closing.is_set():
            raise Killed("the window closed")  # how the desk's workers stop: no cancel recorded
        return False

    patient = IngestOptions(poll_interval_s=0.05, verify_timeout_s=120)
    stopped: list[BaseException] = []

    def run() -> None:
        try:
            desk.pipeline.run(task, desk.source, patient, cancelled=stop_check)
        except Killed as exc:
            stopped.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(
        lambda: desk.store.tasks.get(task.id).state is TaskState.VERIFYING,
        timeout=30, what="the task was verifying",
    )
    closing.set()
    worker.join(5)  # well inside the 120 s verify timeout
    assert not worker.is_alive()
    assert stopped
    assert desk.store.tasks.get(task.id).state is TaskState.VERIFYING  # for the next run


def test_the_same_file_while_its_first_task_is_in_druid_is_held(
    tmp_path: Path, moto: MotoServer, bucket: str
) -> None:
    desk = make_desk(tmp_path, moto.endpoint, bucket, fake=ServingDruid(finish=None))
    first = desk.run(desk.task(), IngestOptions(poll_interval_s=0.01, wait=False))
    assert first.state is TaskState.INGESTING
    second = desk.run(desk.task())
    assert second.state is TaskState.NEEDS_REVIEW
    assert "being ingested into sales right now" in (second.validation_summary or "")
    assert desk.druid.submits() == 1


def test_a_legacy_null_cluster_is_warned_about_before_the_upload(desk: Desk) -> None:
    # The fake runs Druid 25 without the property: the legacy mode, where blanks become 0.
    lines = ["when,city,qty"] + [
        f"2024-02-0{1 + i % 3} 10:00:00,city{i % 4},{'' if i % 10 == 0 else i}"
        for i in range(120)
    ]
    desk.source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = desk.task()
    job = Job(desk.source, FAST, answered=True)
    read = desk.pipeline.advance(task.id, job, pool=Pool.CPU)
    assert read.task.state is TaskState.UPLOADING and read.next_pool is Pool.NETWORK
    assert read.report is not None
    warned = [i for i in read.report.warnings if i.code == "druid_legacy_nulls"]
    assert [(i.column, "12 blank values in 'qty'" in i.message) for i in warned] == [("qty", True)]
    assert desk.druid.submits() == 0  # said before anything was submitted
