"""What Druid told us: cluster status, task states, row stats, schema drift, replace previews."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime


class SegmentGranularity(enum.StrEnum):
    """Druid's time chunk of a datasource's segments."""

    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


GRANULARITY_UNITS: dict[SegmentGranularity, str] = {
    SegmentGranularity.HOUR: "hour", SegmentGranularity.DAY: "day",
    SegmentGranularity.WEEK: "week", SegmentGranularity.MONTH: "month",
    SegmentGranularity.QUARTER: "quarter", SegmentGranularity.YEAR: "year",
}


class GranularitySource(enum.StrEnum):
    """Where a granularity came from, for the sentence that explains it."""

    FITTED = "fitted"  # to this file's span
    DATASOURCE = "datasource"  # what the datasource already has
    CHOSEN = "chosen"  # by the user (dialog, template, --segment-granularity)


@dataclass(frozen=True, slots=True)
class GranularityChoice:
    granularity: SegmentGranularity
    source: GranularitySource
    reason: str  # "MONTH: 9,994 rows over 48 months"
    chunks: int = 1  # time chunks the file's span covers

    @property
    def unit(self) -> str:
        """The chunk in words, plural when there are several: "day", "months"."""
        unit = GRANULARITY_UNITS[self.granularity]
        return unit if self.chunks == 1 else f"{unit}s"


class DruidTaskState(enum.StrEnum):
    """A Druid task's state; WAITING and PENDING are runner states of a task not yet running."""

    WAITING = "WAITING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    # The Overlord does not know the id (never submitted, or its metadata was cleaned up).
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in (DruidTaskState.SUCCESS, DruidTaskState.FAILED)


@dataclass(frozen=True, slots=True)
class DruidStatus:
    """The answer of `/status`: the server version and the extensions it loaded."""

    version: str
    extensions: tuple[str, ...]
    url: str = ""

    def has_extension(self, name: str) -> bool:
        return name in self.extensions


@dataclass(frozen=True, slots=True)
class DruidTaskStatus:
    id: str
    state: DruidTaskState
    error_message: str | None = None
    duration_ms: int | None = None
    datasource: str | None = None
    # host:port of the worker running (or that ran) the task; None before a worker takes it.
    location: str | None = None


@dataclass(frozen=True, slots=True)
class RowStats:
    """The task report's rowStats for the segment-building phase."""

    processed: int
    processed_with_error: int
    thrown_away: int
    unparseable: int
    # Druid's own words for the rows it rejected (parse exceptions), when the report has them.
    parse_errors: tuple[str, ...] = ()
    segment_availability_confirmed: bool | None = None

    @property
    def clean(self) -> bool:
        return self.processed_with_error == 0 and self.thrown_away == 0 and self.unparseable == 0


@dataclass(frozen=True, slots=True)
class DruidColumn:
    """One column as Druid SQL's INFORMATION_SCHEMA.COLUMNS reports it."""

    name: str
    sql_type: str  # VARCHAR, BIGINT, DOUBLE, FLOAT, TIMESTAMP, COMPLEX<...>, ...


@dataclass(frozen=True, slots=True)
class TypeChange:
    column: str
    existing: str  # the SQL type Druid holds now
    incoming: str  # the SQL type the staging file would bring


@dataclass(frozen=True, slots=True)
class SchemaDrift:
    """How the file's columns differ from the datasource's; empty when the datasource is new."""

    datasource_exists: bool
    new: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    type_changed: tuple[TypeChange, ...] = ()

    @property
    def has_drift(self) -> bool:
        return bool(self.new or self.missing or self.type_changed)


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open UTC interval [start, end) in epoch milliseconds, as Druid uses them."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"empty interval: {self.start_ms} .. {self.end_ms}")

    @property
    def iso(self) -> str:
        return f"{_iso(self.start_ms)}/{_iso(self.end_ms)}"


@dataclass(frozen=True, slots=True)
class ReplacePreview:
    """What a replace would overwrite: the rows Druid holds in the interval against the file's."""

    datasource: str
    interval: Interval
    rows_now: int
    rows_incoming: int


SqlValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class SqlResult:
    """Rows of a Druid SQL query, with the column names in query order."""

    columns: tuple[str, ...]
    rows: tuple[tuple[SqlValue, ...], ...]

    def column(self, name: str) -> tuple[SqlValue, ...]:
        index = self.columns.index(name)
        return tuple(row[index] for row in self.rows)

    def first(self, name: str) -> SqlValue:
        """The named value of the first row (aggregate queries answer with one row)."""
        if not self.rows:
            raise LookupError("the query returned no rows")
        return self.rows[0][self.columns.index(name)]


@dataclass(frozen=True, slots=True)
class TaskReport:
    """The task's ingestionStatsAndErrors report: row statistics plus Druid's error text."""

    task_id: str
    ingestion_state: str | None
    row_stats: RowStats
    error_message: str | None = None
