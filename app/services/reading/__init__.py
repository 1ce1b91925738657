"""Open any dropped spreadsheet (CSV/TSV/TXT, maybe gzipped; XLSX/XLSM/XLSB/XLS/ODS) as Polars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.services.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from app.services.reading.errors import UnreadableFileError
    from app.services.reading.opener import list_sheets, open_source
    from app.services.reading.options import ReadOptions
    from app.services.reading.source import ROW_COLUMN, SourceTable
else:
    # The window needs ReadOptions and UnreadableFileError at startup, Polars only for a file.
    __getattr__ = lazy_exports(
        __name__,
        {
            "errors": ("UnreadableFileError",),
            "options": ("ReadOptions",),
            "opener": ("list_sheets", "open_source"),
            "source": ("ROW_COLUMN", "SourceTable"),
        },
    )

__all__ = [
    "ROW_COLUMN",
    "ReadOptions",
    "SourceTable",
    "UnreadableFileError",
    "list_sheets",
    "open_source",
]
