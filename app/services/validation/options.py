"""How to validate a file: the template, time zone, date order and the limits on what is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.rules import Template
from app.domain.validation import DateOrder


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    template: Template | None = None
    timezone: str = "UTC"
    date_order: DateOrder | None = None
    timestamp_column: str | None = None
    # Used when the file has no time column and the user chose one instant for all rows.
    constant_timestamp: datetime | None = None
    datasource: str | None = None
    # Rows with errors that may be left out of the staging file; 0 means any error blocks it.
    max_error_rows: int = 0
    max_cell_chars: int = 65536
    bad_rows_limit: int = 100_000
    preview_rows: int = 20
