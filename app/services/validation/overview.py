"""A look before ingesting: the first rows as read, and rows per day of the time column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl

from app.domain.validation import CellValue, DayCount, PreviewRow
from app.services.reading.source import ROW_COLUMN
from app.services.validation.clipping import clip
from app.services.validation.output import TimeSpec, time_expr
from app.services.validation.profiling import ColumnFacts
from app.services.validation.scan import Agg, counts_of, run_scan

DAYS_KEY = "__rows_per_day"


def day_of(value: pl.Expr, zone: str) -> pl.Expr:
    """The calendar day of a UTC timestamp as the file's readers count days: in its zone."""
    local = value if zone == "UTC" else value.dt.convert_time_zone(zone)
    return local.dt.date()


def days_agg(value: pl.Expr, zone: str) -> Agg:
    """A per-batch group_by on the day, merged across batches by the scan."""
    return counts_of(DAYS_KEY, day_of(value, zone))


def guessed_days(
    spec: TimeSpec | None, facts: dict[str, ColumnFacts], zone: str, date1904: bool
) -> tuple[TimeSpec | None, list[Agg]]:
    """The aggregate counting days of the sample's time guess in the first pass, if any."""
    if spec is None or spec.format == "constant":
        return None, []
    # use_derived: the first pass has already parsed the guessed column; reuse that.
    value = time_expr(spec, facts[spec.column], zone, date1904, True)
    return spec, [days_agg(value, zone)]


def _preview_cell(value: Any) -> CellValue:
    # As read: naive workbook datetimes stay naive; dates, times and durations become text.
    if isinstance(value, str):
        return clip(value)
    if value is None or isinstance(value, (int, float, bool, datetime)):
        return value
    return clip(str(value))


def preview_rows(head: pl.DataFrame | None, columns: tuple[str, ...]) -> tuple[PreviewRow, ...]:
    if head is None or head.height == 0:
        return ()
    return tuple(
        PreviewRow(int(row[0]), tuple(_preview_cell(v) for v in row[1:]))
        for row in head.select(ROW_COLUMN, *columns).iter_rows()
    )


def rows_per_day(
    spec: TimeSpec | None,
    rows: int,
    *,
    measured_spec: TimeSpec | None,
    measured: dict[Any, int] | None,
    frame: pl.LazyFrame,
    time_value: pl.Expr | None,
    zone: str,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[DayCount, ...]:
    """Days in order; counted in the validation pass when the time column was guessed right.

    Otherwise (the sample's guess differed from the final choice) one more pass counts them,
    which only happens to files that already needed the slower evidence pass.
    """
    if spec is None or time_value is None or rows == 0:
        return ()
    if spec.format == "constant":
        day = pl.select(day_of(time_value, zone)).item()
        return (DayCount(day, rows),)
    counts = measured if spec == measured_spec else None
    if counts is None:
        scan = run_scan(frame, [], [days_agg(time_value, zone)], cancelled=cancelled)
        counts = scan.values[DAYS_KEY]
    return tuple(DayCount(day, count) for day, count in sorted(counts.items()))
