"""Segment granularity fitted to the data, or read from the datasource Druid already has.

The rule. Druid keeps one or more segments per time chunk; thousands of tiny chunks slow every
query and load the Coordinator (a 9,994-row file over four years as DAY made 1,237 segments of
8 rows). So a new datasource gets the finest of HOUR, DAY, MONTH, QUARTER and YEAR (not WEEK:
see FINEST_FIRST) that cuts the file's time span into at most MAX_CHUNKS (60) chunks holding on
average at least MIN_ROWS_PER_CHUNK (100) rows: 39,244 rows over 13 days stay DAY, 2,000,000
rows over a year become MONTH, 9,994 rows over four years MONTH (48 chunks of ~208 rows), 120
rows over three days one MONTH chunk, a century YEAR. A chunk that holds more rows than
Druid's partition size (maxRowsPerSegment, 5,000,000) is split into several segments by Druid's
dynamic partitioning, so big files need no finer time chunks. An existing datasource keeps the
granularity its segments have: mixing granularities makes newer coarse segments overshadow
finer ones in surprising ways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from app.domain.druid import (
    GRANULARITY_UNITS,
    GranularityChoice,
    GranularitySource,
    SegmentGranularity,
)
from app.services.druid.client import DruidClient
from app.services.druid.errors import DruidSqlError
from app.services.druid.spec import aligned_interval

MAX_CHUNKS = 60
MIN_ROWS_PER_CHUNK = 100
# WEEK is left out of the fitting: Druid's documentation advises against it, as weeks straddle
# months and years (a replace of "March" would cut weeks in two). A user may still choose it.
FINEST_FIRST = (
    SegmentGranularity.HOUR, SegmentGranularity.DAY, SegmentGranularity.MONTH,
    SegmentGranularity.QUARTER, SegmentGranularity.YEAR,
)
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


def chunk_count(min_ms: int, max_ms: int, granularity: SegmentGranularity) -> int:
    """How many time chunks of `granularity` hold [min_ms, max_ms] (Druid's alignment)."""
    interval = aligned_interval(min_ms, max_ms, granularity)
    start = datetime.fromtimestamp(interval.start_ms // 1000, tz=UTC)
    end = datetime.fromtimestamp(interval.end_ms // 1000, tz=UTC)
    months = (end.year - start.year) * 12 + end.month - start.month
    span = interval.end_ms - interval.start_ms
    return {
        SegmentGranularity.HOUR: span // _HOUR_MS,
        SegmentGranularity.DAY: span // _DAY_MS,
        SegmentGranularity.WEEK: span // (7 * _DAY_MS),
        SegmentGranularity.MONTH: months,
        SegmentGranularity.QUARTER: months // 3,
        SegmentGranularity.YEAR: months // 12,
    }[granularity]


def describe(granularity: SegmentGranularity, rows: int, chunks: int) -> str:
    unit = GRANULARITY_UNITS[granularity]
    return f"{granularity.value}: {rows:,} rows over {chunks:,} {unit}{'s' if chunks != 1 else ''}"


def fit_granularity(min_ms: int, max_ms: int, rows: int) -> GranularityChoice:
    """The finest granularity with at most MAX_CHUNKS chunks of at least MIN_ROWS_PER_CHUNK
    rows on average; the coarsest (YEAR) when none has."""
    for granularity in FINEST_FIRST:
        chunks = chunk_count(min_ms, max_ms, granularity)
        if chunks <= MAX_CHUNKS and rows >= MIN_ROWS_PER_CHUNK * chunks:
            break
    return GranularityChoice(
        granularity, GranularitySource.FITTED, describe(granularity, rows, chunks), chunks
    )


def granularity_of(intervals: Iterable[tuple[int, int]]) -> SegmentGranularity | None:
    """The granularity most of a datasource's segment intervals have (None: none, or none of
    the six)."""
    seen: Counter[SegmentGranularity] = Counter()
    for start, end in intervals:
        length = end - start
        if length == _HOUR_MS:
            seen[SegmentGranularity.HOUR] += 1
        elif length == _DAY_MS:
            seen[SegmentGranularity.DAY] += 1
        elif length == 7 * _DAY_MS:
            seen[SegmentGranularity.WEEK] += 1
        elif 28 * _DAY_MS <= length <= 31 * _DAY_MS:
            seen[SegmentGranularity.MONTH] += 1
        elif 89 * _DAY_MS <= length <= 92 * _DAY_MS:
            seen[SegmentGranularity.QUARTER] += 1
        elif 365 * _DAY_MS <= length <= 366 * _DAY_MS:
            seen[SegmentGranularity.YEAR] += 1
    return seen.most_common(1)[0][0] if seen else None


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def datasource_granularity(client: DruidClient, datasource: str) -> SegmentGranularity | None:
    """The granularity of the datasource's published segments (None: no such datasource yet,
    or a cluster that does not let this user read sys.segments)."""
    try:
        result = client.sql(
            'SELECT "start", "end" FROM sys.segments WHERE datasource = ? AND is_published = 1 '
            "AND is_overshadowed = 0 LIMIT 500",
            [datasource],
        )
    except DruidSqlError:
        return None
    return granularity_of(
        (_ms(str(start)), _ms(str(end)))
        for start, end in zip(result.column("start"), result.column("end"), strict=True)
    )


def choose_granularity(
    client: DruidClient,
    datasource: str,
    min_ms: int,
    max_ms: int,
    rows: int,
    chosen: SegmentGranularity | None = None,
) -> GranularityChoice:
    """The user's choice, else the datasource's own, else the one fitted to the file."""
    if chosen is not None:
        chunks = chunk_count(min_ms, max_ms, chosen)
        return GranularityChoice(
            chosen, GranularitySource.CHOSEN, describe(chosen, rows, chunks) + " (your choice)",
            chunks,
        )
    existing = datasource_granularity(client, datasource)
    if existing is not None:
        chunks = chunk_count(min_ms, max_ms, existing)
        return GranularityChoice(
            existing, GranularitySource.DATASOURCE,
            describe(existing, rows, chunks) + f" (as {datasource} already has)", chunks,
        )
    return fit_granularity(min_ms, max_ms, rows)
