"""A quick look at a file's first rows: column types, timestamp candidates, day/month ambiguity."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from app.domain.validation import ColumnType, DateOrder
from app.services.reading.source import SourceTable
from app.services.validation import misfits, profiling
from app.services.validation import timestamps as ts
from app.services.validation.time_column import ColumnView, candidates


@dataclass(frozen=True, slots=True)
class SampleColumn:
    """One column as the sample suggests it: a guess the whole-file validation checks later."""

    name: str
    type: ColumnType
    evidence: str = ""  # why the sample suggests the type, for the grid's tooltip


@dataclass(frozen=True, slots=True)
class TimestampCandidate:
    """A column that could become Druid's __time, and how its sampled values read.

    `formats` holds the strptime patterns that read every sampled value ("native" for cells a
    workbook stores as dates, "excel_serial" for numbers in a date-named column). For a
    day/month layout both orders are counted, so the dialog can say why it asks.
    """

    column: str
    formats: tuple[str, ...]
    sampled: int  # non-empty values looked at
    day_first: int = 0  # values that read day-first (13/04/2024 only this way)
    month_first: int = 0  # values that read month-first

    @property
    def has_order(self) -> bool:
        return bool(self.day_first or self.month_first)

    @property
    def ambiguous(self) -> bool:
        """Every sampled value reads both ways, so only the user can say which is meant."""
        return self.has_order and self.day_first == self.month_first == self.sampled

    def format_for(self, order: DateOrder | None) -> str | None:
        """The pattern to parse with: the chosen order's when the column has both."""
        if not self.formats:
            return None
        if order is not None:
            for pattern in self.formats:
                known = ts.BY_PATTERN.get(pattern)
                if known is not None and known.order is order:
                    return pattern
        return self.formats[0]


@dataclass(frozen=True, slots=True)
class SampleLook:
    rows: int  # rows in the sample (the file may hold more)
    columns: tuple[SampleColumn, ...]
    candidates: tuple[TimestampCandidate, ...]  # best first


def _native_type(dtype: pl.DataType) -> ColumnType:
    if dtype == pl.Boolean:
        return ColumnType.BOOLEAN
    if dtype.is_integer():
        return ColumnType.INTEGER
    if dtype.is_float():
        return ColumnType.DECIMAL
    if isinstance(dtype, pl.Datetime | pl.Date):
        return ColumnType.TIMESTAMP
    return ColumnType.TEXT


def _evidence(kind: ColumnType, sampled: int, is_text: bool) -> str:
    if not sampled:
        return f"{kind.value}: every sampled value is empty"
    if not is_text:
        return f"{kind.value}: stored so in the file ({sampled:,} sampled values)"
    if kind is ColumnType.TEXT:
        return f"text: the {sampled:,} sampled values are not all numbers, dates or booleans"
    return f"{kind.value}: all {sampled:,} sampled values read so"


def _order_counts(values: pl.Series, pattern: str, zone: str) -> tuple[int, int]:
    """How many values read day-first and how many month-first (a value may read both ways)."""
    known = ts.BY_PATTERN[pattern]
    if known.twin is None:
        return 0, 0
    pair = {known.order: known, ts.BY_PATTERN[known.twin].order: ts.BY_PATTERN[known.twin]}
    frame = values.to_frame("v")
    day, month = frame.select(
        ts.parse_text(pl.col("v"), pair[DateOrder.DAY_FIRST], zone).is_not_null().sum().alias("d"),
        ts.parse_text(pl.col("v"), pair[DateOrder.MONTH_FIRST], zone)
        .is_not_null()
        .sum()
        .alias("m"),
    ).row(0)
    return int(day), int(month)


def look_at_sample(
    source: SourceTable, *, zone: str = "UTC", rows: int = profiling.SAMPLE_ROWS
) -> SampleLook:
    """Guess types and timestamp columns from the first `rows` rows (reads only those)."""
    schema = source.frame.collect_schema()
    text = [c for c in source.columns if schema[c] == pl.String]
    sample = (
        source.frame.select(list(source.columns))
        .with_columns([profiling.normalise_text(c) for c in text])
        .head(rows)
        .collect()
    )
    facts = profiling.plan_candidates(sample, source.columns, source.decimal_comma, zone)
    by_name = {item.name: item for item in facts}
    views: dict[str, ColumnView] = {}
    columns: list[SampleColumn] = []
    for item in facts:
        kind = item.speculative if item.is_text else _native_type(item.dtype)
        formats = tuple(item.spec_formats)
        values = sample.get_column(item.name).drop_nulls()
        evidence = _evidence(kind, len(values), item.is_text)
        if item.is_text and kind is ColumnType.TEXT:
            # The rule the whole-file validation applies, so a typo does not show as text here.
            typed = misfits.sample_candidates(values, item, source.decimal_comma, zone)
            pick = misfits.choose(typed, len(values), values.n_unique())
            if pick is not None:
                kind, formats = pick.type, pick.formats
                evidence = (
                    f"{kind.value}: {pick.fits:,} of {len(values):,} sampled values are "
                    f"{pick.words}; the others will be row errors unless you pick text"
                )
        views[item.name] = ColumnView(kind, formats)
        columns.append(SampleColumn(item.name, kind, evidence))
    ranked = candidates(views, by_name)
    # Columns where at least half the sampled values are dates come last: worth offering.
    ranked += [
        item.name
        for item in facts
        if item.name not in ranked and item.is_text and item.formats
        and views[item.name].type is not ColumnType.INTEGER
    ]
    found: list[TimestampCandidate] = []
    for name in ranked:
        item = by_name[name]
        values = sample.get_column(name).drop_nulls()
        if not item.is_text:
            native = views[name].type is ColumnType.TIMESTAMP
            found.append(
                TimestampCandidate(name, (ts.NATIVE if native else ts.EXCEL_SERIAL,), len(values))
            )
            continue
        known = list(views[name].formats) or item.formats
        patterns = tuple(f.pattern for f in known)
        day = month = 0
        if known and known[0].twin is not None:
            day, month = _order_counts(values, known[0].pattern, zone)
        found.append(TimestampCandidate(name, patterns, len(values), day, month))
    return SampleLook(sample.height, tuple(columns), tuple(found))
