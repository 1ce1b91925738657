"""Segments the way a Druid operator would want them, against the dev stack's real Druid: time
chunks fitted to the data, the datasource's own granularity kept, real NULLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from app.domain.tasks import TaskState
from app.services.druid import DruidClient
from app.services.store import TaskStore
from tests.devstack.stack import DevStack

from .cli_helpers import Cli, explain, tasks_for

pytestmark = pytest.mark.druid

MONTH_MS = (28 * 86_400_000, 31 * 86_400_000)
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def four_years(path: Path, rows: int = 9_994, first: datetime = datetime(2014, 1, 3)) -> Path:
    """Orders spread over four years, like Tableau's Sample Superstore."""
    step = (datetime(2017, 12, 30) - first) / rows
    lines = ["when,region,qty"] + [
        f"{first + step * i:%Y-%m-%d %H:%M:%S},region{i % 4},{i % 17}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def segments(druid: DruidClient, name: str) -> list[tuple[str, str]]:
    result = druid.sql(
        'SELECT "start", "end" FROM sys.segments WHERE datasource = ? AND is_published = 1 '
        "AND is_overshadowed = 0",
        [name],
    )
    return list(zip(result.column("start"), result.column("end"), strict=True))  # type: ignore[arg-type]


def length_ms(interval: tuple[str, str]) -> int:
    start, end = (datetime.fromisoformat(v.replace("Z", "+00:00")) for v in interval)
    return int((end - start).total_seconds() * 1000)


def ingest(cli: Cli, store: TaskStore, devstack: DevStack, name: str, path: Path,
           *flags: str) -> None:
    done = cli.run("ingest", str(path), "--datasource", name, "--wait", *flags, timeout=300)
    task = next(t for t in tasks_for(store, name) if t.file_name == path.name)
    assert done.returncode == 0, explain(devstack, task, done)
    assert task.state is TaskState.SUCCEEDED


def test_four_years_land_in_monthly_segments_and_a_month_is_replaced_exactly(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("years")
    ingest(cli, store, devstack, name, four_years(tmp_path / "superstore.csv"))
    found = segments(druid, name)
    assert 40 <= len(found) <= 48  # one per month with orders: a few dozen, not ~1,400 days
    assert all(MONTH_MS[0] <= length_ms(s) <= MONTH_MS[1] for s in found)
    history = store.tasks.history(tasks_for(store, name)[0].id)
    assert any("segments MONTH: 9,994 rows over 48 months" in (e.message or "") for e in history)

    before = druid.sql(f'SELECT COUNT(*) AS n FROM "{name}"').first("n")
    march = tmp_path / "march_2015.csv"
    march.write_text("when,region,qty\n" + "".join(
        f"2015-03-{1 + i % 28:02d} 12:00:00,region9,{i}\n" for i in range(70)
    ), encoding="utf-8")
    in_march = ("WHERE __time >= TIMESTAMP '2015-03-01' AND __time < TIMESTAMP '2015-04-01'")
    old_march = druid.sql(f'SELECT COUNT(*) AS n FROM "{name}" {in_march}').first("n")
    ingest(cli, store, devstack, name, march, "--mode", "replace")
    assert druid.sql(f'SELECT COUNT(*) AS n FROM "{name}" {in_march}').first("n") == 70
    after = druid.sql(f'SELECT COUNT(*) AS n FROM "{name}"').first("n")
    assert after == int(before) - int(old_march) + 70  # type: ignore[arg-type]


@pytest.mark.parametrize("sample", ["sales_clean.csv", "stores_workbook.xlsx"])
def test_the_bundled_samples_land_in_a_handful_of_segments(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    devstack: DevStack, sample: str,
) -> None:
    name = datasource(sample.split(".", maxsplit=1)[0])
    ingest(cli, store, devstack, name, SAMPLES / sample)
    assert 1 <= len(segments(druid, name)) <= 12


def test_an_append_into_a_day_datasource_keeps_day(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("keepday")
    first = tmp_path / "june.csv"
    first.write_text("when,region,qty\n" + "".join(
        f"2024-06-{1 + i % 3:02d} 09:00:00,north,{i}\n" for i in range(30)
    ), encoding="utf-8")
    ingest(cli, store, devstack, name, first, "--segment-granularity", "day")
    ingest(cli, store, devstack, name, four_years(tmp_path / "more.csv", rows=90))
    found = segments(druid, name)
    assert found and all(length_ms(s) == 86_400_000 for s in found)
    task = next(t for t in tasks_for(store, name) if t.file_name == "more.csv")
    assert any(f"(as {name} already has)" in (e.message or "")
               for e in store.tasks.history(task.id))


def test_blank_numbers_are_nulls_in_druid(
    cli: Cli, store: TaskStore, druid: DruidClient, datasource: Callable[[str], str],
    tmp_path: Path, devstack: DevStack,
) -> None:
    name = datasource("nulls")
    path = tmp_path / "blanks.csv"
    start = datetime(2024, 5, 1)
    path.write_text("when,qty,price\n" + "".join(
        f"{start + timedelta(hours=i):%Y-%m-%d %H:%M:%S},{'' if i % 4 == 0 else i},"
        f"{'' if i % 5 == 0 else f'{i * 1.5:.2f}'}\n" for i in range(60)
    ), encoding="utf-8")
    ingest(cli, store, devstack, name, path)
    frame = pl.read_csv(path)
    got = druid.sql(
        f'SELECT AVG(qty) AS a, MIN(qty) AS m, COUNT(qty) AS c, AVG(price) AS p FROM "{name}"'
    )
    assert got.first("c") == frame.get_column("qty").count()  # blanks are not counted
    assert got.first("m") == frame.get_column("qty").min()
    assert got.first("a") == pytest.approx(frame.get_column("qty").mean())
    assert got.first("p") == pytest.approx(frame.get_column("price").mean())
