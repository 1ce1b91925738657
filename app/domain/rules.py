"""Validation templates: the column rules and choices a team keeps for a recurring file."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.validation import ColumnType, DateOrder


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """What a template says about one column (by its name in the file)."""

    name: str
    type: ColumnType | None = None  # overrides inference
    rename: str | None = None  # the column's name in Druid
    required: bool = False
    regex: str | None = None
    allowed: tuple[str, ...] | None = None
    minimum: float | str | None = None  # numbers, or ISO dates for timestamp columns
    maximum: float | str | None = None
    skip: bool = False  # left out of the staging file (and of Druid) altogether


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    datasource: str | None = None
    columns: tuple[ColumnRule, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()  # each entry is a (possibly composite) key
    timestamp_column: str | None = None
    date_order: DateOrder | None = None
    timezone: str | None = None
    sheet: str | None = None
    mode: str | None = None
    # The reader's corrections a recurring file needs (None: as sniffed).
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based
    # Druid's time chunk for the datasource (HOUR ... YEAR); None: fitted to each file's span.
    segment_granularity: str | None = None
    version: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def rule(self, column: str) -> ColumnRule | None:
        for item in self.columns:
            if item.name == column:
                return item
        return None
