"""What reading and validating a file found: sniffing decisions, profiles, issues, verdict."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

CellValue = str | int | float | bool | datetime | None


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ColumnType(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    TEXT = "text"


class DateOrder(enum.StrEnum):
    """How to read an all-numeric date such as 03/04/2024."""

    DAY_FIRST = "day_first"
    MONTH_FIRST = "month_first"


class Verdict(enum.StrEnum):
    VALID = "valid"
    NEEDS_REVIEW = "needs_review"
    INVALID = "invalid"
    UNREADABLE = "unreadable"


class SourceKind(enum.StrEnum):
    DELIMITED = "delimited"
    EXCEL = "excel"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One thing wrong or worth knowing, located where the user will look for it."""

    severity: Severity
    code: str
    message: str
    row: int | None = None  # as numbered in Excel or a text editor (1-based, header included)
    column: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class SniffDecision:
    """A guess the reader made about the file, and why, so the user can check it."""

    name: str  # encoding, delimiter, decimal_comma, header_row, footer_rows, quoted_newlines, ...
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class SheetInfo:
    name: str
    rows: int
    columns: int
    visible: bool = True


@dataclass(frozen=True, slots=True)
class ValueExample:
    row: int
    value: str


@dataclass(frozen=True, slots=True)
class NullMarkerCount:
    """How often a null marker such as 'n/a' was read as an empty cell in one column."""

    marker: str
    count: int


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Everything the whole-file pass learned about one column."""

    name: str
    source_name: str
    type: ColumnType
    evidence: str
    nulls: int
    distinct_estimate: int
    minimum: CellValue = None
    maximum: CellValue = None
    disagreeing: int = 0  # values that do not fit the type named in the evidence
    examples: tuple[ValueExample, ...] = ()
    overridden: bool = False
    # Present values that do not fit the column's type: each is a row error (a typo such as
    # 'three' in a number column), unless the type is overridden.
    misfits: int = 0
    null_markers: tuple[NullMarkerCount, ...] = ()  # read as empty, most frequent first


@dataclass(frozen=True, slots=True)
class PendingDecision:
    """A choice only the user can make before the file may be staged."""

    code: str  # e.g. "date_order", "timestamp_column"
    column: str | None
    question: str
    options: tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class TimestampChoice:
    column: str
    format: str  # strptime pattern, "excel_serial" or "native"
    date_order: DateOrder | None
    zone: str
    parsed: int
    failed: int
    reason: str


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """One of the file's first rows as read (before typing), in the report's column order."""

    row: int  # as numbered in Excel or a text editor, like ValidationIssue.row
    values: tuple[CellValue, ...]


@dataclass(frozen=True, slots=True)
class DayCount:
    """Rows whose timestamp falls on one calendar day (in the validation's time zone)."""

    day: date
    rows: int


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The verdict on one file (one sheet), with everything needed to explain it."""

    file: Path
    kind: SourceKind
    verdict: Verdict
    rows: int
    sheet: str | None = None
    sheets: tuple[SheetInfo, ...] = ()
    columns: tuple[ColumnProfile, ...] = ()
    timestamp: TimestampChoice | None = None
    issues: tuple[ValidationIssue, ...] = ()
    decisions: tuple[SniffDecision, ...] = ()
    pending: tuple[PendingDecision, ...] = ()
    rows_with_errors: int = 0
    error_rows_truncated: bool = False
    preview: tuple[PreviewRow, ...] = ()
    # Days without rows are absent: the gaps are what the chart is for.
    rows_per_day: tuple[DayCount, ...] = ()
    # Issues left out of `issues` when the report was stored (a bounded sample per column is
    # kept; "Export errors" re-reads the file for all of them where it can).
    issues_omitted: int = 0

    @property
    def errors(self) -> tuple[ValidationIssue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[ValidationIssue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    def decision(self, name: str) -> str | None:
        for item in self.decisions:
            if item.name == name:
                return item.value
        return None


@dataclass(frozen=True, slots=True)
class StagingPart:
    """One file of a staging output split so Druid's parallel subtasks can share the work."""

    path: Path
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class StagingResult:
    """The typed file(s) Druid will read, with the figures that prove what is in them.

    `path`, `bytes` and `sha256` describe the first part when there is one part (the usual case)
    and the whole output otherwise: total bytes, and the SHA-256 of the parts' bytes in order.
    """

    path: Path
    format: str  # "ndjson.zst", "ndjson.gz" or "parquet"
    rows: int
    bytes: int
    sha256: str
    min_time_ms: int | None
    max_time_ms: int | None
    excluded_rows: int = 0
    columns: tuple[tuple[str, ColumnType], ...] = field(default=())
    parts: tuple[StagingPart, ...] = ()

    @property
    def files(self) -> tuple[StagingPart, ...]:
        """Every staging file in order; a result without parts is one file."""
        if self.parts:
            return self.parts
        return (StagingPart(self.path, self.rows, self.bytes, self.sha256),)
