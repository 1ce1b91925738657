"""The reader's result type and the dispatcher that picks the delimited or the Excel reader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from app.domain.validation import (
    Severity,
    SheetInfo,
    SniffDecision,
    SourceKind,
    ValidationIssue,
)
from app.services.reading.detect import FileState, file_state
from app.services.reading.errors import UnreadableFileError
from app.services.reading.failures import generic_failure

# Every frame carries the row number the user sees (Excel row or text-editor record), so each
# issue can point at it. The name cannot collide: headers are made unique against it.
ROW_COLUMN = "__source_row"


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A file opened for validation: a lazy frame plus everything the reader decided."""

    path: Path
    kind: SourceKind
    frame: pl.LazyFrame  # user columns (unique names) + ROW_COLUMN
    columns: tuple[str, ...]
    source_names: tuple[str, ...]  # header text as written in the file
    decisions: tuple[SniffDecision, ...] = ()
    issues: tuple[ValidationIssue, ...] = ()
    sheet: str | None = None
    sheets: tuple[SheetInfo, ...] = ()
    decimal_comma: bool = False
    # Excel only: whether the workbook counts serial dates from 1904 (old Mac Excel).
    date1904: bool = False
    # Rows known to be excluded at the end (totals, notes), reported but not validated.
    footer_rows: int = 0
    cleanup: Callable[[], None] = field(default=lambda: None)
    # Says why a read of this frame failed better than the native message (the open quote).
    explain: Callable[[BaseException], UnreadableFileError] | None = None
    # The file as it was when opened: what is validated must be what was hashed.
    opened_as: FileState | None = None

    def close(self) -> None:
        self.cleanup()

    def read_failure(self, exc: BaseException) -> UnreadableFileError:
        if self.explain is not None:
            return self.explain(exc)
        return generic_failure(self.path, exc)

    def check_unchanged(self) -> None:
        """Raise when the file is no longer the one opened (truncated, rewritten, replaced)."""
        if self.opened_as is None:
            return
        try:
            now: FileState | None = file_state(self.path)
        except UnreadableFileError:
            now = None  # deleted or replaced by something unreadable: changed all the same
        if now != self.opened_as:
            raise UnreadableFileError(
                "changed_while_read",
                f"{self.path.name} changed while it was read; add it again.",
            )


def make_unique_headers(raw: list[str | None]) -> tuple[list[str], list[ValidationIssue]]:
    """Blank headers get a positional name, duplicates a suffix; each change is a warning."""
    names: list[str] = []
    issues: list[ValidationIssue] = []
    seen: set[str] = {ROW_COLUMN}
    for index, value in enumerate(raw, start=1):
        base = (value or "").strip()
        if not base:
            base = f"column_{index}"
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "blank_header",
                    f"Column {index} has no header; named it '{base}'.",
                    column=base,
                )
            )
        name = base
        suffix = 2
        while name in seen:
            name = f"{base}_{suffix}"
            suffix += 1
        if name != base:
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "duplicate_header",
                    f"Header '{base}' appears more than once; column {index} renamed to '{name}'.",
                    column=name,
                    value=base,
                )
            )
        seen.add(name)
        names.append(name)
    return names, issues
