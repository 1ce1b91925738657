"""Open any dropped spreadsheet (CSV/TSV/TXT, maybe gzipped; XLSX/XLSM/XLSB/XLS/ODS) as Polars."""

from __future__ import annotations

from app.services.reading.errors import UnreadableFileError
from app.services.reading.source import (
    ROW_COLUMN,
    ReadOptions,
    SourceTable,
    list_sheets,
    open_source,
)

__all__ = [
    "ROW_COLUMN",
    "ReadOptions",
    "SourceTable",
    "UnreadableFileError",
    "list_sheets",
    "open_source",
]
