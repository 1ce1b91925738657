"""How to validate a file: the template, time zone, date order and the limits on what is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.domain.rules import Template
from app.domain.validation import DateOrder

if TYPE_CHECKING:
    from app.services.settings import Settings


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

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        datasource: str | None = None,
        template: Template | None = None,
        date_order: DateOrder | None = None,
        timestamp_column: str | None = None,
    ) -> ValidateOptions:
        """The configured time zone and cell limit, with the choices made for this file."""
        return cls(
            template=template,
            timezone=settings.default_timezone,
            date_order=date_order,
            timestamp_column=timestamp_column,
            datasource=datasource,
            max_cell_chars=settings.max_cell_chars,
        )
