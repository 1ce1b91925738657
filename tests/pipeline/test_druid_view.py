"""The details panel's Druid view of a task: real Druid 25 tasks, and Druid out of reach."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.domain.druid import DruidTaskState
from app.domain.tasks import IngestMode, Task, TaskState
from app.domain.validation import StagingResult
from app.pipeline.druid_view import SpecSource, console_url, druid_task_view
from app.pipeline.remote_connections import Connections
from app.pipeline.staged import TaskFiles
from app.services.druid import (
    DruidClient,
    IngestionSpec,
    RetryPolicy,
    SpecOptions,
    build_spec,
)
from app.services.storage import S3Uploader, make_client
from tests.devstack.stack import DevStack
from tests.druid.conftest import stage_csv
from tests.druid.fake import FakeDruid
from tests.storage.conftest import options, s3_config

# One task slot, no subtasks: the dev stack's three slots are shared by every desk's
# tests, and parallel supervisors waiting for subtask slots can starve each other.
SEQUENTIAL = SpecOptions(await_segments_ms=1000, max_concurrent_subtasks=1)
ONE_TRY = RetryPolicy(attempts=1, initial_wait_s=0.01, max_wait_s=0.01)


def make_task(druid_task_id: str | None, state: TaskState = TaskState.INGESTING) -> Task:
    now = datetime.now(UTC)
    return Task(
        id=uuid.uuid4().hex,
        file_name="orders.csv",
        file_size=100,
        sha256="0" * 64,
        source_client="desk",
        datasource="orders",
        mode=IngestMode.APPEND,
        state=state,
        version=3,
        created_at=now,
        updated_at=now,
        druid_task_id=druid_task_id,
    )


def connections_to(druid: DruidClient) -> Connections:
    # The S3 half is never called by the view; it only has to exist.
    config = s3_config("http://127.0.0.1:9", "unused")
    return Connections(config, S3Uploader(make_client(config), config, options()), druid)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def csv_text(rows: int) -> str:
    lines = ["when,city,qty"]
    lines += [f"2024-06-0{1 + i % 3} 10:{i % 60:02d}:00,city{i % 5},{i}" for i in range(rows)]
    return "\n".join(lines) + "\n"


# ---- Druid out of reach, refusing, or forgetful (the fake and a closed port) ------------------


def test_unreachable_druid_is_one_sentence_and_the_local_spec(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    task = make_task("ingest-desk_orders_append_abc")
    TaskFiles.for_task(tmp_path, task.id).save_spec('{"type": "index_parallel", "id": "x"}')
    with DruidClient(url, retry=ONE_TRY, timeout_s=5) as druid:
        view = druid_task_view(connections_to(druid), task, work_dir=tmp_path)
    assert view.problem is not None
    assert view.problem.startswith(f"Druid at {url} could not be reached")
    assert view.state is None and view.row_stats is None
    assert view.spec_source is SpecSource.LOCAL
    assert view.spec_json is not None
    assert json.loads(view.spec_json) == {"type": "index_parallel", "id": "x"}
    assert view.druid_task_id == task.druid_task_id
    assert view.console_url == f"{url}/unified-console.html#ingestion"


def test_refused_credentials_say_so(tmp_path: Path) -> None:
    fake = FakeDruid(require_auth=("admin", "right"))
    fake.add_task("t1", "FAILED")
    view = druid_task_view(
        connections_to(fake.client(username="admin", password="wrong")),
        make_task("t1"),
        work_dir=tmp_path,
    )
    assert view.problem is not None
    assert "refused this desk's credentials (HTTP 401)" in view.problem
    assert "Settings" in view.problem
    assert view.spec_json is None and view.spec_source is None  # nothing saved on this desk


def test_a_task_not_yet_submitted_asks_druid_nothing(tmp_path: Path) -> None:
    fake = FakeDruid()
    view = druid_task_view(connections_to(fake.client()), make_task(None), work_dir=tmp_path)
    assert fake.requests == []
    assert view.problem is None and view.druid_task_id is None and view.fetched_at is not None


def test_a_task_the_overlord_forgot_shows_the_local_spec(tmp_path: Path) -> None:
    fake = FakeDruid()
    task = make_task("cleaned-up-long-ago", TaskState.SUCCEEDED)
    TaskFiles.for_task(tmp_path, task.id).save_spec('{"id": "cleaned-up-long-ago"}')
    view = druid_task_view(connections_to(fake.client()), task, work_dir=tmp_path)
    assert view.problem is None
    assert view.state is DruidTaskState.UNKNOWN
    assert view.spec_source is SpecSource.LOCAL
    assert view.row_stats is None and view.log_tail is None


def test_a_failed_task_brings_its_log_tail(tmp_path: Path) -> None:
    fake = FakeDruid()
    fake.fail_like_parallel_druid("t1", "orders", "java.io.IOException: S3 said NoSuchKey")
    fake.logs["t1"] = "".join(f"line {i}\n" for i in range(250))
    view = druid_task_view(connections_to(fake.client()), make_task("t1"), work_dir=tmp_path)
    assert view.state is DruidTaskState.FAILED
    assert view.error_message == "java.io.IOException: S3 said NoSuchKey"
    assert view.log_tail is not None
    assert view.log_tail.splitlines() == [f"line {i}" for i in range(150, 250)]
    assert not view.log_missing


def test_a_part_druid_fails_to_give_is_left_out_not_a_problem(tmp_path: Path) -> None:
    fake = FakeDruid()
    fake.fail_like_parallel_druid("t1", "orders", "java.io.IOException: S3 said NoSuchKey")
    busy = httpx.Response(503, text="The worker running this task did not answer")
    fake.inject("/druid/indexer/v1/task/t1/reports", *[busy] * 3)
    fake.inject("/druid/indexer/v1/task/t1/log", *[busy] * 3)
    view = druid_task_view(connections_to(fake.client()), make_task("t1"), work_dir=tmp_path)
    assert view.problem is None
    assert view.state is DruidTaskState.FAILED and view.location == "indexer.test:8091"
    assert view.row_stats is None
    # Not "Druid keeps no log": Druid did not answer, which is another matter.
    assert view.log_tail is None and not view.log_missing
    assert view.spec_source is None  # the fake stores no payload for a task it did not receive


def test_console_url_opens_the_ingestion_view() -> None:
    assert console_url("http://druid:8888/", "t1") == (
        "http://druid:8888/unified-console.html#ingestion"
    )


# ---- the real Druid 25 dev stack --------------------------------------------------------------


@dataclass(frozen=True)
class RealTask:
    spec: IngestionSpec
    staging: StagingResult | None


@pytest.fixture(scope="module")
def real_druid(devstack: DevStack) -> Iterator[DruidClient]:
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        yield druid


def _submit_and_wait(druid: DruidClient, spec: IngestionSpec) -> DruidTaskState:
    druid.submit(spec)
    return druid.wait(spec.task_id, timeout_s=300, poll_s=0.5).state


@pytest.fixture(scope="module")
def succeeded(
    devstack: DevStack, real_druid: DruidClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealTask]:
    datasource = f"view_ok_{uuid.uuid4().hex[:8]}"
    staging = stage_csv(csv_text(120), tmp_path_factory.mktemp("view-ok"))
    bucket, prefix = devstack.env["INGEST_DESK_S3_BUCKET"], devstack.env["INGEST_DESK_S3_PREFIX"]
    key = f"{prefix}/view/{datasource}/{staging.sha256}.ndjson.gz"
    devstack.s3_client().upload_file(str(staging.path), bucket, key)
    spec = build_spec(
        datasource,
        staging,
        [f"s3://{bucket}/{key}"],
        IngestMode.APPEND,
        SEQUENTIAL,
    )
    assert _submit_and_wait(real_druid, spec) is DruidTaskState.SUCCESS
    yield RealTask(spec, staging)
    devstack.drop_datasource(datasource)


@pytest.fixture(scope="module")
def failed(
    devstack: DevStack, real_druid: DruidClient, tmp_path_factory: pytest.TempPathFactory
) -> RealTask:
    staging = stage_csv(csv_text(3), tmp_path_factory.mktemp("view-failed"))
    bucket = devstack.env["INGEST_DESK_S3_BUCKET"]
    missing = f"s3://{bucket}/ingest-desk/view/missing-{uuid.uuid4().hex}.ndjson.gz"
    spec = build_spec(
        f"view_bad_{uuid.uuid4().hex[:8]}",
        staging,
        [missing],
        IngestMode.APPEND,
        SEQUENTIAL,
    )
    assert _submit_and_wait(real_druid, spec) is DruidTaskState.FAILED
    return RealTask(spec, None)


@pytest.mark.druid
def test_real_succeeded_task(real_druid: DruidClient, succeeded: RealTask, tmp_path: Path) -> None:
    view = druid_task_view(
        connections_to(real_druid), make_task(succeeded.spec.task_id), work_dir=tmp_path
    )
    assert view.problem is None
    assert view.state is DruidTaskState.SUCCESS
    assert view.row_stats is not None and succeeded.staging is not None
    assert view.row_stats.processed == succeeded.staging.rows == 120
    assert view.row_stats.clean
    assert view.ingestion_state == "COMPLETED"
    assert view.duration_ms is not None and view.duration_ms > 0
    assert view.location is not None and ":" in view.location
    # The Overlord's copy, though this desk saved none: any desk can show the spec.
    assert view.spec_source is SpecSource.OVERLORD and view.spec_json is not None
    assert json.loads(view.spec_json)["id"] == succeeded.spec.task_id
    assert view.error_message is None and view.log_tail is None and not view.log_missing


@pytest.mark.druid
def test_real_failed_task(
    devstack: DevStack, real_druid: DruidClient, failed: RealTask, tmp_path: Path
) -> None:
    view = druid_task_view(
        connections_to(real_druid), make_task(failed.spec.task_id), work_dir=tmp_path
    )
    assert view.problem is None
    assert view.state is DruidTaskState.FAILED
    # Druid's own words (the fake covers the parallel supervisor's "Failed in phase[...]").
    assert view.error_message is not None
    assert "does not exist" in view.error_message, view.error_message
    raw = httpx.get(
        f"{devstack.druid_url}/druid/indexer/v1/task/{failed.spec.task_id}/log", timeout=30
    )
    assert view.log_missing is (raw.status_code == 404)
    assert view.spec_source is SpecSource.OVERLORD
    assert view.console_url == f"{devstack.druid_url}/unified-console.html#ingestion"
