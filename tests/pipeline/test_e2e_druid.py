"""`ingest-desk ingest` end to end against the real Druid dev stack, including a crash matrix."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from app.domain.tasks import Task, TaskState
from app.services.druid import DruidClient
from app.services.store import TaskStore
from tests.devstack.stack import DevStack
from tests.support.waiting import wait_until

from .cli_helpers import (
    Cli,
    explain,
    open_uploads,
    overlord_task_ids,
    tasks_for,
    wait_for_line,
)

pytestmark = pytest.mark.druid

START = datetime(2024, 6, 3)


def write_csv(path: Path, rows: int, days: int = 3, qty_base: int = 0, day0: int = 0) -> Path:
    lines = ["when,city,qty,price"]
    for i in range(rows):
        moment = START + timedelta(days=day0 + i % days, minutes=(11 * i) % 1440)
        lines.append(f"{moment:%Y-%m-%d %H:%M:%S},city{i % 7},{qty_base + i},{i * 0.25:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: int) -> Path:
    frame = pl.DataFrame(
        {
            "when": [START + timedelta(days=i % 4, minutes=(17 * i) % 1440) for i in range(rows)],
            "store": [f"store{i % 5}" for i in range(rows)],
            "qty": [i * 3 for i in range(rows)],
        }
    )
    frame.write_excel(path, worksheet="sales")
    return path


def source_figures(path: Path) -> dict[str, int]:
    """COUNT, first/last __time (ms) and SUM(qty) as Polars computes them from the source."""
    if path.suffix == ".xlsx":
        frame = pl.read_excel(path)
    else:
        frame = pl.read_csv(path, try_parse_dates=True)
    when = frame.get_column("when").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    epoch = when.dt.epoch("ms")
    return {
        "n": frame.height,
        "first_ms": int(epoch.min()),  # type: ignore[arg-type]
        "last_ms": int(epoch.max()),  # type: ignore[arg-type]
        "qty": int(frame.get_column("qty").sum()),
    }


def druid_figures(druid: DruidClient, datasource: str, where: str = "") -> dict[str, int]:
    result = druid.sql(
        "SELECT COUNT(*) AS n, TIMESTAMP_TO_MILLIS(MIN(__time)) AS first_ms, "
        f'TIMESTAMP_TO_MILLIS(MAX(__time)) AS last_ms, SUM(qty) AS qty FROM "{datasource}" {where}'
    )
    return {name: int(result.first(name) or 0) for name in ("n", "first_ms", "last_ms", "qty")}


def test_xlsx_and_csv_land_with_the_figures_polars_computes(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    files = {
        datasource("csv"): write_csv(tmp_path / "orders.csv", 700),
        datasource("xlsx"): write_xlsx(tmp_path / "sales.xlsx", 300),
    }
    # Both at once: two desks' worth of work, and half the wall time.
    running = {
        name: cli.start("ingest", str(path), "--datasource", name, "--wait")
        for name, path in files.items()
    }
    for name, process in running.items():
        out, err = process.communicate(timeout=240)
        task = tasks_for(store, name)[0]
        assert process.returncode == 0, explain(devstack, task) + f"\n{out}\n{err}"
        assert task.state is TaskState.SUCCEEDED
        expected = source_figures(files[name])
        assert task.rows_validated == task.rows_ingested == expected["n"]
        assert druid_figures(druid, name) == expected
        assert open_uploads(devstack, name) == []


def write_history(path: Path, first: datetime, rows: int, step_months: int) -> Path:
    """A series like the Dow Jones one: `rows` dates from `first`, `step_months` apart.

    Few rows per day keep Druid's (still DAY) segments few, so the test stays quick.
    """
    lines = ["when,city,qty"]
    for i in range(rows):
        year, month = divmod(first.month - 1 + i * step_months, 12)
        moment = first.replace(year=first.year + year, month=month + 1)
        lines.append(f"{moment:%Y-%m-%d},city{i % 3},{100 + i * 7}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("label", "first", "rows", "step_months"),
    # 1900-01 .. 1969-07, every seven months; 1969-01 .. 1971-12, every month.
    [("before1970", datetime(1900, 1, 1), 120, 7), ("across1970", datetime(1969, 1, 1), 36, 1)],
)
def test_dates_before_1970_are_verified_by_druid_sql(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack, label: str, first: datetime, rows: int, step_months: int,
) -> None:
    name = datasource(label)
    path = write_history(tmp_path / f"{label}.csv", first, rows, step_months)
    done = cli.run("ingest", str(path), "--datasource", name, "--mode", "replace", "--wait",
                   timeout=300)
    task = tasks_for(store, name)[0]
    assert done.returncode == 0, explain(devstack, task, done)
    assert task.state is TaskState.SUCCEEDED
    assert f"Druid SQL counts {rows:,}" in (task.validation_summary or "")
    plan = task.verify_plan
    assert plan is not None and plan.interval.start_ms < 0 and plan.rows == rows
    assert druid_figures(druid, name) == source_figures(path)


def test_a_large_file_is_staged_in_parts_that_druid_ingests_in_parallel(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("parts")
    # 250,000 rows stage to several MB of NDJSON.gz; a 1 MB part size rolls it into parts.
    path = write_csv(tmp_path / "big.csv", 250_000, days=5)
    done = cli.run(
        "ingest", str(path), "--datasource", name, "--wait", timeout=300,
        INGEST_DESK_STAGING_PART_MB="1",
    )
    task = tasks_for(store, name)[0]
    assert done.returncode == 0, explain(devstack, task, done)
    uploaded = next(
        e.message for e in store.tasks.history(task.id) if e.message and "uploaded" in e.message
    )
    assert uploaded.count("s3://") >= 2, uploaded
    assert task.state is TaskState.SUCCEEDED
    assert druid_figures(druid, name) == source_figures(path)
    assert open_uploads(devstack, name) == []


def test_replace_overwrites_exactly_its_interval(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("replace")
    # Three days of 300 rows, then a replace of the middle day with 77 different rows.
    first = cli.run("ingest", str(write_csv(tmp_path / "three_days.csv", 300)),
                    "--datasource", name, "--wait")
    assert first.returncode == 0, explain(devstack, tasks_for(store, name)[0], first)
    day = write_csv(tmp_path / "middle_day.csv", 77, days=1, qty_base=10_000, day0=1)
    second = cli.run("ingest", str(day), "--datasource", name, "--mode", "replace", "--wait")
    task = next(t for t in tasks_for(store, name) if t.mode.value == "replace")
    assert second.returncode == 0, explain(devstack, task, second)
    assert task.state is TaskState.SUCCEEDED

    def on(day_index: int) -> str:
        start = START + timedelta(days=day_index)
        return (f"WHERE __time >= TIMESTAMP '{start:%Y-%m-%d}' "
                f"AND __time < TIMESTAMP '{start + timedelta(days=1):%Y-%m-%d}'")

    assert druid_figures(druid, name, on(1)) == source_figures(day)
    # The other two days keep their 100 rows each, untouched.
    assert druid_figures(druid, name, on(0))["n"] == 100
    assert druid_figures(druid, name, on(2))["n"] == 100
    assert druid_figures(druid, name)["n"] == 277


def test_append_with_a_changed_column_type_is_held_before_submit(
    cli: Cli, store: TaskStore, datasource: Callable[[str], str], tmp_path: Path,
    devstack: DevStack,
) -> None:
    name = datasource("drift")
    base = cli.run("ingest", str(write_csv(tmp_path / "base.csv", 50)), "--datasource", name,
                   "--wait")
    assert base.returncode == 0, explain(devstack, tasks_for(store, name)[0], base)
    changed = tmp_path / "changed.csv"
    changed.write_text("when,city,qty,price\n2024-06-03 10:00:00,Oslo,lots,1.5\n")
    result = cli.run("ingest", str(changed), "--datasource", name, "--wait")
    assert result.returncode == 1
    task = next(t for t in tasks_for(store, name) if t.file_name == "changed.csv")
    assert task.state is TaskState.NEEDS_REVIEW
    assert task.druid_task_id is None and task.s3_uri is None
    assert "qty is BIGINT in Druid but VARCHAR in this file" in (task.validation_summary or "")
    assert len(overlord_task_ids(devstack, name)) == 1


def test_cancel_from_the_cli_stops_a_running_druid_task(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("cancel")
    # A long segment-availability wait keeps the Druid task RUNNING long enough to cancel it.
    process = cli.start("ingest", str(write_csv(tmp_path / "slow.csv", 200)),
                        "--datasource", name, "--wait", INGEST_DESK_AWAIT_SEGMENTS_MS="180000")
    try:
        def running() -> Task | None:
            found = tasks_for(store, name)
            task = found[0] if found else None
            ingesting = task is not None and task.state is TaskState.INGESTING
            if ingesting and druid.task_status(task.druid_task_id or "").state.value == "RUNNING":
                return task
            return None

        task = wait_until(
            running, timeout=120, interval=0.5, what="the Druid task was running",
            describe=lambda: explain(devstack, (tasks_for(store, name) or [None])[0]),
        )
        result = cli.run("cancel", task.id[:8])
        assert result.returncode == 0, result.stdout + result.stderr
        assert "was shut down" in result.stdout
        ended = store.tasks.get(task.id)
        assert ended.state is TaskState.CANCELLED
        assert druid.task_status(task.druid_task_id or "").state.value == "FAILED"
        # The ingesting process notices (its next store read) and ends without a fight.
        process.wait(timeout=60)
        assert process.returncode == 1
        assert store.tasks.get(task.id).state is TaskState.CANCELLED
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


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
def test_a_kill_at_any_step_then_a_rerun_ingests_exactly_once(
    point: str, killed_in: TaskState, cli: Cli, store: TaskStore, druid: DruidClient,
    datasource: Callable[[str], str], tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource(f"crash_{point}")
    source = write_csv(tmp_path / f"crash_{point}.csv", 400)
    args = ("ingest", str(source), "--datasource", name, "--wait")
    process = cli.start(*args, INGEST_DESK_TEST_PAUSE_AT=point)
    try:
        wait_for_line(process, f"test pause at {point}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    (killed,) = tasks_for(store, name)
    assert killed.state is killed_in, explain(devstack, killed)
    rerun = cli.run(*args)
    task = store.tasks.get(killed.id)
    assert rerun.returncode == 0, explain(devstack, task, rerun)
    assert "resuming task" in rerun.stdout
    assert task.state is TaskState.SUCCEEDED
    assert tasks_for(store, name) == [task]  # the rerun resumed, it did not start over
    assert overlord_task_ids(devstack, name) == [task.druid_task_id]
    assert open_uploads(devstack, name) == []
    assert druid_figures(druid, name) == source_figures(source)
