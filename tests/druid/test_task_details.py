"""What the details panel asks Druid for one task: the stored spec, the log tail, the location."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.domain.druid import DruidTaskState
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import (
    DruidAuthError,
    DruidClient,
    DruidUnavailableError,
    IngestionSpec,
    SpecOptions,
    build_spec,
)
from app.services.druid.answers import task_location
from tests.devstack.stack import DevStack

from .fake import FakeDruid

# One task slot, no subtasks: the dev stack's three slots are shared by every desk's
# tests, and parallel supervisors waiting for subtask slots can starve each other.
SEQUENTIAL = SpecOptions(await_segments_ms=1000, max_concurrent_subtasks=1)
UNAVAILABLE = httpx.Response(503, text="No overlord leader is available")
LOG = "".join(f"2024-05-01T09:00:{i % 60:02d},000 INFO [runner] line {i}\n" for i in range(300))


def _spec(bucket: str, datasource: str) -> IngestionSpec:
    staging = StagingResult(
        path=Path("/nowhere.ndjson.gz"),
        format="ndjson.gz",
        rows=1,
        bytes=1,
        sha256=uuid.uuid4().hex * 2,
        min_time_ms=0,
        max_time_ms=0,
        columns=(("city", ColumnType.TEXT),),
    )
    # A key nobody uploaded: Druid accepts the task and fails it while reading.
    uri = f"s3://{bucket}/ingest-desk/details/missing-{uuid.uuid4().hex}.ndjson.gz"
    return build_spec(datasource, staging, [uri], IngestMode.APPEND, SEQUENTIAL)


# ---- log tail ---------------------------------------------------------------------------------


def test_log_tail_keeps_the_last_lines(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.logs["t1"] = LOG
    tail = fake.client().log_tail("t1", lines=100)
    assert tail is not None
    assert tail.splitlines() == LOG.splitlines()[-100:]
    (request,) = [r for r in fake.requests if r.url.path.endswith("/log")]
    assert request.url.params["offset"] == "-65536"


def test_log_tail_drops_the_line_the_byte_offset_cut(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.logs["t1"] = LOG
    tail = fake.client().log_tail("t1", lines=100, max_bytes=200)
    assert tail is not None
    lines = tail.splitlines()
    # The 200 bytes start inside a line; only whole lines come back.
    assert lines == LOG.splitlines()[-len(lines) :]
    assert lines and all(line.startswith("2024-05-01T") for line in lines)


def test_log_tail_of_a_short_log_is_all_of_it(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.logs["t1"] = "only line\n"
    assert fake.client().log_tail("t1") == "only line"


def test_log_tail_without_a_log_is_none(fake: FakeDruid) -> None:
    assert fake.client().log_tail("never-submitted") is None


def test_log_tail_retries_then_reports_druid_unavailable(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.logs["t1"] = "done\n"
    fake.inject("/druid/indexer/v1/task/t1/log", UNAVAILABLE)
    assert fake.client().log_tail("t1") == "done"
    fake.inject("/druid/indexer/v1/task/t1/log", *[UNAVAILABLE] * 3)
    with pytest.raises(DruidUnavailableError) as info:
        fake.client().log_tail("t1")
    assert info.value.druid_message == "No overlord leader is available"


def test_log_tail_refused_is_an_auth_error(fake: FakeDruid) -> None:
    fake.add_task("t1", "FAILED")
    fake.require_auth = ("admin", "right")
    with pytest.raises(DruidAuthError) as info:
        fake.client(username="admin", password="wrong").log_tail("t1")
    assert info.value.status_code == 401


# ---- the stored spec, the location ------------------------------------------------------------


def test_task_spec_is_the_overlords_copy(fake: FakeDruid) -> None:
    client = fake.client()
    spec = _spec("b", "sales")
    client.submit(spec)
    stored = client.task_spec(spec.task_id)
    assert stored is not None
    assert json.loads(stored) == json.loads(spec.body)
    assert stored.startswith("{\n  ")  # indented for reading
    assert client.task_spec("never-submitted") is None


def test_task_spec_faults_raise_like_the_other_calls(fake: FakeDruid) -> None:
    spec = _spec("b", "sales")
    fake.client().submit(spec)
    fake.inject(f"/druid/indexer/v1/task/{spec.task_id}", *[httpx.ConnectError("refused")] * 3)
    with pytest.raises(DruidUnavailableError, match="could not connect"):
        fake.client().task_spec(spec.task_id)
    fake.require_auth = ("admin", "right")
    with pytest.raises(DruidAuthError):
        fake.client(username="admin", password="wrong").task_spec(spec.task_id)


def test_status_names_where_the_task_runs(fake: FakeDruid) -> None:
    fake.add_task("t1", "RUNNING")
    assert fake.client().task_status("t1").location == "indexer.test:8091"
    assert task_location({"host": None, "port": -1, "tlsPort": -1}) is None
    assert task_location({"host": "peon", "port": -1, "tlsPort": 8291}) == "peon:8291"
    assert task_location(None) is None


# ---- the real Druid 25 ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed_task(devstack: DevStack) -> Iterator[tuple[DruidClient, IngestionSpec]]:
    with DruidClient(devstack.druid_url, timeout_s=60) as client:
        spec = _spec(devstack.env["INGEST_DESK_S3_BUCKET"], f"details_{uuid.uuid4().hex[:8]}")
        client.submit(spec)
        status = client.wait(spec.task_id, timeout_s=300, poll_s=0.5)
        assert status.state is DruidTaskState.FAILED, status
        yield client, spec


@pytest.mark.druid
def test_real_druid_answers_spec_location_and_log(
    failed_task: tuple[DruidClient, IngestionSpec], devstack: DevStack
) -> None:
    client, spec = failed_task
    stored = client.task_spec(spec.task_id)
    assert stored is not None
    payload = json.loads(stored)
    assert payload["id"] == spec.task_id
    assert payload["spec"]["dataSchema"]["dataSource"] == spec.datasource
    status = client.task_status(spec.task_id)
    host, _, port = (status.location or "").partition(":")
    assert host and int(port) > 0, status
    # The dev stack runs an Indexer, which (unlike a MiddleManager) may keep no per-task log;
    # whatever the Overlord answers, the tail is its last lines or None for its 404.
    raw = httpx.get(f"{devstack.druid_url}/druid/indexer/v1/task/{spec.task_id}/log", timeout=30)
    tail = client.log_tail(spec.task_id, lines=100)
    if raw.status_code == 404:
        assert tail is None
    else:
        assert tail is not None and tail.splitlines() == raw.text.splitlines()[-100:]
    assert client.task_spec(f"ingest-desk_details_{uuid.uuid4().hex}") is None
    assert client.log_tail(f"ingest-desk_details_{uuid.uuid4().hex}") is None
