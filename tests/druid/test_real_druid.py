"""Spec builder and client against the real Druid 25 dev stack: append, replace, drift, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from app.domain.druid import DruidTaskState, SqlResult, TaskReport, TypeChange
from app.domain.tasks import IngestMode
from app.domain.validation import StagingResult
from app.services.druid import (
    DruidClient,
    DruidSqlError,
    IngestionSpec,
    SpecOptions,
    build_spec,
    detect_drift,
    replace_preview,
)
from tests.devstack.stack import DevStack
from tests.support.waiting import wait_until

from .conftest import gzip_members, stage_csv

pytestmark = pytest.mark.druid

# The dev stack's indexer checks segment handoff once a minute (Druid's default
# druid.segment.handoff.pollDuration), so a long wait would add a minute to every task; the
# tests wait briefly and then poll SQL until the rows are queryable, as the pipeline will.
OPTIONS = SpecOptions(await_segments_ms=2000)
START = datetime(2024, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Figures:
    rows: int
    qty: int
    price: float
    active: int
    first_ms: int
    last_ms: int


def _csv(rows: int, days: Sequence[int], qty_base: int = 0) -> str:
    lines = ["when,city,qty,price,active,code"]
    for i in range(rows):
        moment = START + timedelta(days=days[i % len(days)], minutes=7 * i % 1440)
        flag = "true" if i % 3 == 0 else "false"
        when = moment.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{when},city{i % 7},{qty_base + i},{i * 0.25:.2f},{flag},00{i % 9}")
    return "\n".join(lines) + "\n"


def _figures(csv_path: Path) -> Figures:
    """The source file's figures as Polars computes them, independent of the staging code."""
    frame = pl.read_csv(csv_path, try_parse_dates=True)
    when = frame.get_column("when").dt.replace_time_zone("UTC").dt.epoch("ms")
    return Figures(
        rows=frame.height,
        qty=int(frame.get_column("qty").sum()),
        price=float(frame.get_column("price").sum()),
        active=int(frame.get_column("active").sum()),
        first_ms=int(when.min()),  # type: ignore[arg-type]
        last_ms=int(when.max()),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def client(devstack: DevStack) -> Iterator[DruidClient]:
    with DruidClient(devstack.druid_url, timeout_s=60) as druid:
        yield druid


@pytest.fixture(scope="module")
def new_datasource(devstack: DevStack) -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def make(label: str) -> str:
        made.append(f"it_{label}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield make
    for name in made:
        devstack.drop_datasource(name)


def _upload(devstack: DevStack, staging: StagingResult, datasource: str) -> str:
    bucket = devstack.env["INGEST_DESK_S3_BUCKET"]
    key = f"{devstack.env['INGEST_DESK_S3_PREFIX']}/it/{datasource}/{staging.sha256}.ndjson.gz"
    devstack.s3_client().upload_file(str(staging.path), bucket, key)
    return f"s3://{bucket}/{key}"


def _run(client: DruidClient, spec: IngestionSpec) -> TaskReport:
    assert client.submit(spec) == spec.task_id
    status = client.wait(spec.task_id, timeout_s=300, poll_s=0.5)
    assert status.state is DruidTaskState.SUCCESS, client.failure_reason(spec.task_id)
    return client.report(spec.task_id)


def _until(
    client: DruidClient,
    query: str,
    params: Sequence[int | str],
    done: Callable[[SqlResult], bool],
    timeout_s: float = 120.0,
) -> SqlResult:
    """Poll SQL until `done`: published segments reach the broker a few seconds later."""
    last: SqlResult | str = "no answer"

    def satisfied() -> SqlResult | None:
        nonlocal last
        try:
            answer = client.sql(query, params)
        except DruidSqlError as exc:  # the table is unknown until its first segment loads
            last = str(exc)
            return None
        last = answer
        return answer if done(answer) else None

    return wait_until(
        satisfied, timeout=timeout_s, interval=1.0,
        what=f"{query} satisfied the check", describe=lambda: last,
    )


@dataclass(frozen=True)
class Appended:
    datasource: str
    staging: StagingResult
    figures: Figures
    report: TaskReport


@pytest.fixture(scope="module")
def appended(
    devstack: DevStack,
    client: DruidClient,
    new_datasource: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Appended:
    datasource = new_datasource("append")
    out = tmp_path_factory.mktemp("append")
    # Small batches make a multi-member gzip file, as the staging writer produces for big inputs.
    staging = stage_csv(_csv(600, days=[0, 1, 2]), out, batch_rows=128)
    assert gzip_members(staging.path) >= 4
    spec = build_spec(
        datasource, staging, [_upload(devstack, staging, datasource)], IngestMode.APPEND, OPTIONS
    )
    report = _run(client, spec)
    assert client.submit(spec) == spec.task_id  # a re-submit after success is still "submitted"
    return Appended(datasource, staging, _figures(out / "staged.csv"), report)


def test_append_lands_every_row(client: DruidClient, appended: Appended) -> None:
    stats = appended.report.row_stats
    assert stats.processed == appended.staging.rows == appended.figures.rows == 600
    assert stats.clean and stats.parse_errors == ()
    query = (
        "SELECT COUNT(*) AS n, SUM(qty) AS qty, SUM(price) AS price, SUM(active) AS active, "
        "TIMESTAMP_TO_MILLIS(MIN(__time)) AS first_ms, "
        f'TIMESTAMP_TO_MILLIS(MAX(__time)) AS last_ms FROM "{appended.datasource}"'
    )
    result = _until(client, query, [], lambda r: r.first("n") == appended.figures.rows)
    figures = appended.figures
    assert result.first("qty") == figures.qty
    assert result.first("price") == pytest.approx(figures.price)
    assert result.first("active") == figures.active
    assert (result.first("first_ms"), result.first("last_ms")) == (
        figures.first_ms,
        figures.last_ms,
    )
    assert (appended.staging.min_time_ms, appended.staging.max_time_ms) == (
        figures.first_ms,
        figures.last_ms,
    )
    types = {c.name: c.sql_type for c in client.columns(appended.datasource)}
    assert types == {
        "__time": "TIMESTAMP",
        "city": "VARCHAR",
        "qty": "BIGINT",
        "price": "DOUBLE",
        "active": "BIGINT",
        "code": "VARCHAR",
    }
    assert appended.datasource in client.datasources()


def test_drift_flags_a_changed_column_type(
    client: DruidClient, appended: Appended, tmp_path: Path
) -> None:
    _until(client, f'SELECT COUNT(*) AS n FROM "{appended.datasource}"', [], lambda r: True)
    assert not detect_drift(client, appended.datasource, appended.staging).has_drift
    changed = stage_csv(
        "when,city,qty,region\n2024-03-05 10:00:00,Oslo,lots,north\n", tmp_path / "drift"
    )
    drift = detect_drift(client, appended.datasource, changed)
    assert drift.datasource_exists
    assert drift.type_changed == (TypeChange("qty", existing="BIGINT", incoming="VARCHAR"),)
    assert drift.new == ("region",)
    assert set(drift.missing) == {"price", "active", "code"}
    assert not detect_drift(client, "it_never_created", changed).datasource_exists


def _per_day(client: DruidClient, datasource: str, expected_days: int) -> dict[str, int]:
    query = (
        "SELECT TIME_FORMAT(TIME_FLOOR(__time, 'P1D'), 'yyyy-MM-dd') AS d, COUNT(*) AS n "
        f'FROM "{datasource}" GROUP BY 1 ORDER BY 1'
    )
    result = _until(client, query, [], lambda r: len(r.rows) == expected_days)
    return {str(day): int(str(n)) for day, n in result.rows}


def test_replace_replaces_exactly_its_interval(
    devstack: DevStack,
    client: DruidClient,
    new_datasource: Callable[[str], str],
    tmp_path: Path,
) -> None:
    datasource = new_datasource("replace")
    base = stage_csv(_csv(300, days=[0, 1, 2]), tmp_path / "base")
    uri = _upload(devstack, base, datasource)
    _run(client, build_spec(datasource, base, [uri], IngestMode.APPEND, OPTIONS))
    before = _per_day(client, datasource, 3)
    assert before == {"2024-03-01": 100, "2024-03-02": 100, "2024-03-03": 100}

    # The new file covers 2 March only, with different values: only that day may change.
    patch = stage_csv(_csv(40, days=[1], qty_base=10_000), tmp_path / "patch")
    preview = replace_preview(client, datasource, patch)
    assert (preview.rows_now, preview.rows_incoming) == (100, 40)
    assert preview.interval.iso == "2024-03-02T00:00:00.000Z/2024-03-03T00:00:00.000Z"
    spec = build_spec(
        datasource, patch, [_upload(devstack, patch, datasource)], IngestMode.REPLACE, OPTIONS
    )
    assert spec.interval == preview.interval
    report = _run(client, spec)
    assert report.row_stats.processed == 40 and report.row_stats.clean

    day_two = (
        f'SELECT COUNT(*) AS n, MIN(qty) AS low FROM "{datasource}" '
        "WHERE __time >= MILLIS_TO_TIMESTAMP(?) AND __time < MILLIS_TO_TIMESTAMP(?)"
    )
    bounds = [preview.interval.start_ms, preview.interval.end_ms]
    result = _until(client, day_two, bounds, lambda r: r.first("n") == 40)
    assert result.first("low") == 10_000
    assert _per_day(client, datasource, 3) == {
        "2024-03-01": 100,
        "2024-03-02": 40,
        "2024-03-03": 100,
    }


def test_cancel_a_running_task(
    devstack: DevStack,
    client: DruidClient,
    new_datasource: Callable[[str], str],
    tmp_path: Path,
) -> None:
    datasource = new_datasource("cancel")
    staging = stage_csv(_csv(50, days=[0]), tmp_path / "cancel")
    # A long segment wait keeps the task running long enough to be cancelled.
    options = SpecOptions(await_segments_ms=300_000)
    spec = build_spec(
        datasource, staging, [_upload(devstack, staging, datasource)], IngestMode.APPEND, options
    )
    client.submit(spec)
    wait_until(
        lambda: client.task_status(spec.task_id).state is DruidTaskState.RUNNING,
        timeout=60, interval=0.3, what="the task started",
    )
    status = client.cancel(spec.task_id, confirm_timeout_s=60)
    assert status.state is DruidTaskState.FAILED
    assert client.bulk_status([spec.task_id])[0].state is DruidTaskState.FAILED
