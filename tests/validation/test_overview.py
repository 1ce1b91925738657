"""The report's first rows and rows per day, checked against figures Polars computes directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from app.domain.validation import DayCount, Verdict
from app.services.report_export import report_to_dict
from app.services.validation import ValidateOptions
from app.services.validation.scan import BATCH_ROWS
from tests.validation.conftest import WriteFile, validate_path

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def _polars_days(path: Path, column: str, pattern: str, zone: str = "UTC") -> list[DayCount]:
    """Rows per calendar day as the file writes it (local dates), straight from Polars."""
    frame = pl.read_csv(path, infer_schema=False)
    naive = frame.get_column(column).str.strptime(pl.Datetime("ms"), pattern, strict=False)
    counted = (
        naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.date()
        .drop_nulls()
        .value_counts()
        .sort(column)
    )
    return [DayCount(day, rows) for day, rows in counted.iter_rows()]


def _first_rows(path: Path, count: int) -> list[tuple[str | None, ...]]:
    return [tuple(row) for row in pl.read_csv(path, infer_schema=False).head(count).iter_rows()]


def test_rows_per_day_and_preview_across_batches(write_file: WriteFile):
    # More rows than one batch, a gap of three days and a spike, so merging and gaps both count.
    start = datetime(2024, 3, 1)
    days = [d for d in range(40) if d not in (10, 11, 12)]
    lines = ["ts,store,amount"]
    for i in range(BATCH_ROWS * 2 + 5_000):
        day = days[i % len(days)] if i % 7 else 20  # every seventh row lands on the spike day
        moment = start + timedelta(days=day, seconds=(i * 37) % 86_400)
        lines.append(f"{moment:%Y-%m-%d %H:%M:%S},S{i % 13},{i % 500}.25")
    path = write_file("many.csv", "\n".join(lines) + "\n")

    report = validate_path(path).report

    assert report.verdict is Verdict.VALID and report.timestamp is not None
    expected = _polars_days(path, "ts", "%Y-%m-%d %H:%M:%S")
    assert list(report.rows_per_day) == expected
    assert sum(d.rows for d in report.rows_per_day) == report.rows == BATCH_ROWS * 2 + 5_000
    assert date(2024, 3, 11) not in {d.day for d in report.rows_per_day}
    spike = max(report.rows_per_day, key=lambda d: d.rows)
    assert spike.day == date(2024, 3, 21)
    # The preview is the first rows as written, numbered as a text editor numbers them.
    assert [p.values for p in report.preview] == _first_rows(path, 20)
    assert [p.row for p in report.preview] == list(range(2, 22))


def test_day_first_dates_counted_on_their_own_days(write_file: WriteFile):
    lines = ["datum,value"] + [
        f"{day:02d}/{month:02d}/2024,{day * month}" for month in (1, 2) for day in range(13, 29)
    ]
    path = write_file("dayfirst.csv", "\n".join(lines) + "\n")

    report = validate_path(path).report

    assert report.timestamp is not None and report.timestamp.format == "%d/%m/%Y"
    assert list(report.rows_per_day) == _polars_days(path, "datum", "%d/%m/%Y")
    assert report.rows_per_day[0] == DayCount(date(2024, 1, 13), 1)


def test_day_order_only_clear_after_the_sample_still_counts_days(write_file: WriteFile):
    # The first 2,000 rows read both ways, so the first pass cannot guess the time column;
    # the later rows settle it, and the days are counted for the final choice.
    lines = ["day,value"]
    lines += [f"{(i % 12) + 1:02d}/{(i % 12) + 1:02d}/2024,{i}" for i in range(2_000)]
    lines += [f"{(i % 10) + 15:02d}/03/2024,{i}" for i in range(500)]
    path = write_file("late.csv", "\n".join(lines) + "\n")

    report = validate_path(path).report

    assert report.timestamp is not None and report.timestamp.format == "%d/%m/%Y"
    assert list(report.rows_per_day) == _polars_days(path, "day", "%d/%m/%Y")
    assert len(report.rows_per_day) == 12 + 10


def test_days_are_counted_in_the_files_time_zone(write_file: WriteFile):
    # 00:30 in Berlin is the previous evening in UTC; the chart shows the day the file says.
    text = "when,v\n2024-03-01 00:30:00,1\n2024-03-01 23:30:00,2\n2024-03-03 00:10:00,3\n"
    path = write_file("berlin.csv", text)

    report = validate_path(path, ValidateOptions(timezone="Europe/Berlin")).report

    assert list(report.rows_per_day) == _polars_days(path, "when", "%Y-%m-%d %H:%M:%S")
    assert list(report.rows_per_day) == [
        DayCount(date(2024, 3, 1), 2),
        DayCount(date(2024, 3, 3), 1),
    ]


def test_file_without_a_time_column_has_a_preview_but_no_days(write_file: WriteFile):
    path = write_file("plain.csv", "code,name,qty\n007,  padded ,3\nN/A,b,\n010,c,5\n")

    report = validate_path(path).report

    assert report.timestamp is None and report.rows_per_day == ()
    # As read: padding kept, null markers and blanks are empty cells.
    assert [p.values for p in report.preview] == [
        ("007", "  padded ", "3"),
        (None, "b", None),
        ("010", "c", "5"),
    ]

    constant = datetime(2024, 5, 1, 12, tzinfo=UTC)
    stamped = validate_path(path, ValidateOptions(constant_timestamp=constant)).report
    assert stamped.rows_per_day == (DayCount(date(2024, 5, 1), 3),)


def test_rows_with_unreadable_dates_are_left_out_of_the_days(write_file: WriteFile):
    lines = ["date,v"] + [f"2024-01-{(i % 5) + 1:02d},{i}" for i in range(2_100)]
    lines.append("someday,1")
    path = write_file("junk.csv", "\n".join(lines) + "\n")

    report = validate_path(path).report

    assert report.verdict is Verdict.INVALID
    assert list(report.rows_per_day) == _polars_days(path, "date", "%Y-%m-%d")
    assert sum(d.rows for d in report.rows_per_day) == report.rows - 1


def test_workbook_preview_and_days_match_polars():
    path = SAMPLES / "stores_workbook.xlsx"
    report = validate_path(path).report
    assert report.timestamp is not None
    column = report.timestamp.column
    frame = pl.read_excel(path)
    counted = frame.get_column(column).dt.date().value_counts().sort(column)
    assert list(report.rows_per_day) == [DayCount(d, n) for d, n in counted.iter_rows()]
    names = [c.name for c in report.columns]
    assert [p.values for p in report.preview] == [
        tuple(row) for row in frame.select(names).head(20).iter_rows()
    ]


def test_json_report_carries_preview_and_days(write_file: WriteFile):
    path = write_file("j.csv", "day,v\n2024-01-01,1\n2024-01-03,2\n2024-01-03,3\n")
    data = report_to_dict(validate_path(path).report)
    assert data["rows_per_day"] == [
        {"date": "2024-01-01", "rows": 1},
        {"date": "2024-01-03", "rows": 2},
    ]
    assert data["preview"][0] == {"row": 2, "values": ["2024-01-01", "1"]}
    assert len(data["preview"]) == 3
