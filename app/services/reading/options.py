"""How to read a file: the sheet, size limits and the user's overrides of the sniffers' guesses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.settings import Settings


@dataclass(frozen=True, slots=True)
class ReadOptions:
    sheet: str | None = None
    max_expanded_bytes: int = 4096 * 1024 * 1024
    # Workbooks are loaded whole, so the parts of one may expand to this much (see Settings).
    max_workbook_bytes: int = 256 * 1024 * 1024
    max_compression_ratio: int = 500
    max_columns: int = 5000
    # Overrides for the sniffers (the user corrected a guess in the dialog or on the CLI).
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based line/row of the header
    temp_dir: Path | None = None

    @classmethod
    def for_settings(cls, settings: Settings, sheet: str | None = None) -> ReadOptions:
        """The configured limits, and the sheet to read (None: the one with most data)."""
        return cls(
            sheet=sheet,
            max_expanded_bytes=settings.max_expanded_mb * 1024 * 1024,
            max_workbook_bytes=settings.max_workbook_mb * 1024 * 1024,
            max_compression_ratio=settings.max_compression_ratio,
            max_columns=settings.max_columns,
        )
