"""How to read a file: the sheet, size limits and the user's overrides of the sniffers' guesses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ReadOptions:
    sheet: str | None = None
    max_expanded_bytes: int = 4096 * 1024 * 1024
    max_columns: int = 5000
    # Overrides for the sniffers (the user corrected a guess in the dialog or on the CLI).
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None  # 1-based line/row of the header
    temp_dir: Path | None = None
