"""Cases both the fake and the real Druid must pass, so the fake stays honest about Druid 25."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.domain.druid import DruidTaskState
from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, StagingResult
from app.services.druid import (
    DruidClient,
    DruidSqlError,
    DruidTaskIdTakenError,
    SpecOptions,
    build_spec,
)

from .fake import FakeDruid

NO_SUCH_KEY = (
    "java.lang.RuntimeException: Error occurred while trying to read uri: "
    "s3://ingest-desk-dev/ingest-desk/contract/missing.ndjson.gz\n"
    "Caused by: com.amazonaws.services.s3.model.AmazonS3Exception: "
    "The specified key does not exist. (Service: Amazon S3; Status Code: 404)"
)


@dataclass
class Backend:
    client: DruidClient
    bucket: str
    # The fake has no runner: this makes a submitted task end the way Druid ends it.
    finish_failed: Callable[[str, str], None]


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.druid)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake = FakeDruid(round_trip=True)  # GET /task/{id} answers in Druid's notation
        return Backend(
            fake.client(),
            "ingest-desk-dev",
            lambda task_id, ds: fake.fail_like_parallel_druid(task_id, ds, NO_SUCH_KEY),
        )
    stack = request.getfixturevalue("devstack")
    client = DruidClient(stack.druid_url, timeout_s=60)
    request.addfinalizer(client.close)
    return Backend(client, stack.env["INGEST_DESK_S3_BUCKET"], lambda _t, _d: None)


def test_status_names_version_and_s3_extension(backend: Backend) -> None:
    status = backend.client.require_extensions()
    assert status.version.startswith("25.")
    assert status.has_extension("druid-s3-extensions")
    assert backend.client.health() is True


def test_unknown_task_ids(backend: Backend) -> None:
    missing = f"ingest-desk_contract_{uuid.uuid4().hex}"
    client = backend.client
    assert client.task_status(missing).state is DruidTaskState.UNKNOWN
    assert client.bulk_status([missing])[0].state is DruidTaskState.UNKNOWN
    assert client.cancel(missing).state is DruidTaskState.UNKNOWN
    assert client.log_excerpt(missing) is None


def test_resubmit_counts_and_failure_is_explained(backend: Backend) -> None:
    datasource = f"contract_{uuid.uuid4().hex[:8]}"
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
    uri = f"s3://{backend.bucket}/ingest-desk/contract/missing.ndjson.gz"
    spec = build_spec(
        datasource, staging, [uri], IngestMode.APPEND, SpecOptions(await_segments_ms=1000)
    )
    client = backend.client
    assert client.submit(spec) == spec.task_id
    # "already exists" counts as submitted when Druid's copy of the task is this spec ...
    assert client.submit(spec) == spec.task_id
    other = build_spec(
        datasource, staging, [uri.replace("missing", "other")], IngestMode.APPEND,
        SpecOptions(await_segments_ms=1000),
    )
    assert other.task_id == spec.task_id
    with pytest.raises(DruidTaskIdTakenError, match="input: Druid has s3://"):
        client.submit(other)  # ... and not when the id holds other input
    backend.finish_failed(spec.task_id, datasource)
    status = client.wait(spec.task_id, timeout_s=120, poll_s=0.5)
    assert status.state is DruidTaskState.FAILED
    assert status.error_message
    reason = client.failure_reason(spec.task_id)
    assert reason is not None
    assert "The specified key does not exist" in reason and "\tat " not in reason


def test_sql_errors_are_druids_own(backend: Backend) -> None:
    with pytest.raises(DruidSqlError, match=r"Object 'no_such_table_[0-9a-f]+' not found"):
        backend.client.sql(f"SELECT COUNT(*) FROM no_such_table_{uuid.uuid4().hex[:6]}")
