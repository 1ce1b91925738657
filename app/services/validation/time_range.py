"""A file's full time range from its timestamp column alone: one column read, every row parsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from app.services.reading.detect import ContainerKind, detect
from app.services.reading.errors import UnreadableFileError
from app.services.reading.excel_container import guard_expansion
from app.services.reading.failures import generic_failure
from app.services.reading.opener import open_source
from app.services.reading.options import ReadOptions
from app.services.validation import timestamps as ts
from app.services.validation.null_markers import NULL_TOKENS


@dataclass(frozen=True, slots=True)
class TimeRangeRequest:
    """Which column to read and how; workbook fields come from an earlier look at the file."""

    path: Path
    column: str
    format: str  # a strptime pattern, "native" or "excel_serial"
    zone: str = "UTC"
    read: ReadOptions = field(default_factory=ReadOptions)
    # Workbooks: the header text of the column, the 1-based header row and the data rows
    # below it (footer rows left out), and the workbook's date system.
    source_name: str | None = None
    header_row: int = 1
    data_rows: int | None = None
    date1904: bool = False


@dataclass(frozen=True, slots=True)
class FileTimeRange:
    rows: int  # every data row of the file, dated or not
    dated: int  # rows whose timestamp parsed
    min_ms: int | None
    max_ms: int | None


def _parse(values: pl.Expr, dtype: pl.DataType, request: TimeRangeRequest) -> pl.Expr:
    if request.format == ts.EXCEL_SERIAL:
        return ts.excel_serial_to_utc(values, request.date1904, request.zone)
    if isinstance(dtype, pl.Datetime | pl.Date):
        return ts.native_to_utc(values, dtype, request.zone)
    known = ts.BY_PATTERN.get(request.format)
    if known is None:
        raise ValueError(f"'{request.column}' has no date format to read it with")
    text = values if dtype == pl.String else values.cast(pl.String)
    cleaned = pl.when(text.str.strip_chars().is_in(NULL_TOKENS)).then(None)
    return ts.parse_text(cleaned.otherwise(text.str.strip_chars()), known, request.zone)


def _figures(frame: pl.LazyFrame, request: TimeRangeRequest) -> FileTimeRange:
    dtype = frame.collect_schema()["v"]
    parsed = ts.epoch_ms(_parse(pl.col("v"), dtype, request))
    rows, dated, low, high = (
        frame.select(
            pl.len().alias("rows"),
            parsed.is_not_null().sum().alias("dated"),
            parsed.min().alias("low"),
            parsed.max().alias("high"),
        )
        .collect()
        .row(0)
    )
    return FileTimeRange(
        int(rows),
        int(dated),
        None if low is None else int(low),
        None if high is None else int(high),
    )


def _workbook_column(request: TimeRangeRequest) -> pl.LazyFrame | None:
    """The one column through fastexcel's use_columns; None when it cannot be named that way."""
    import fastexcel  # noqa: PLC0415 - keeps CSV-only runs light

    name = request.source_name or request.column
    try:
        reader = fastexcel.read_excel(request.path)
        sheet = reader.load_sheet(
            request.read.sheet if request.read.sheet is not None else 0,
            header_row=max(request.header_row - 1, 0),
            skip_rows=0,
            n_rows=request.data_rows,
            use_columns=[name],
            dtype_coercion="coerce",
        )
        frame = sheet.to_polars()
    except (fastexcel.FastExcelError, KeyError, ValueError):
        return None  # a renamed duplicate or blank header: the full reader knows the layout
    if frame.width != 1:
        return None
    return frame.lazy().select(pl.col(frame.columns[0]).alias("v"))


def file_time_range(request: TimeRangeRequest) -> FileTimeRange:
    """Rows and first/last instant (epoch ms, UTC) as the staging file would hold them.

    Text files: the reader's lazy scan with only the timestamp column selected, so Polars
    parses one field per line. Workbooks: fastexcel loads just that column.
    """
    kind = detect(request.path).kind
    if kind is not ContainerKind.TEXT:
        # The same memory budget as the full reader: a bomb is refused before it inflates.
        guard_expansion(request.path, kind, request.read)
        try:
            lazy = _workbook_column(request)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise generic_failure(request.path, exc) from exc
        if lazy is not None:
            return _figures(lazy, request)
    source = open_source(request.path, request.read)
    try:
        if request.column not in source.columns:
            raise UnreadableFileError(
                "timestamp_column_missing",
                f"The timestamp column '{request.column}' is not in {request.path.name}.",
            )
        return _figures(source.frame.select(pl.col(request.column).alias("v")), request)
    finally:
        source.close()
