"""Opening a file by its content: delimited text or a workbook, each with its own reader."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

from app.domain.validation import SheetInfo
from app.services.reading.detect import ContainerKind, detect, file_state
from app.services.reading.errors import UnreadableFileError
from app.services.reading.failures import generic_failure, read_errors
from app.services.reading.options import ReadOptions
from app.services.reading.source import SourceTable


def list_sheets(path: Path) -> tuple[SheetInfo, ...]:
    """Sheets of a workbook with their row counts; an empty tuple for delimited text."""
    detection = detect(path)
    if detection.kind is ContainerKind.TEXT:
        return ()
    from app.services.reading import excel  # noqa: PLC0415 - keeps CSV-only runs light

    with read_errors(partial(generic_failure, path)):
        return excel.list_workbook_sheets(path, detection)


def open_source(path: Path, options: ReadOptions | None = None) -> SourceTable:
    """Open a file by its content; raises UnreadableFileError with a user-facing message."""
    options = options or ReadOptions()
    path = Path(path)
    opened_as = file_state(path)
    # A native reader's panic is a BaseException: it becomes a verdict here, not a crash above.
    with read_errors(partial(generic_failure, path)):
        table = _open(path, options)
    table = dataclasses.replace(table, opened_as=opened_as)
    try:
        table.check_unchanged()
    except UnreadableFileError:
        table.close()
        raise
    return table


def _open(path: Path, options: ReadOptions) -> SourceTable:
    detection = detect(path)
    if detection.kind is ContainerKind.ENCRYPTED_OFFICE:
        raise UnreadableFileError(
            "encrypted_workbook",
            f"{path.name} is protected with a password. Open it in Excel, remove the password "
            "(File > Info > Protect Workbook), save, and drop it again.",
        )
    if detection.kind is ContainerKind.TEXT:
        from app.services.reading import delimited  # noqa: PLC0415

        return delimited.open_delimited(path, detection, options)
    from app.services.reading import excel  # noqa: PLC0415

    return excel.open_workbook(path, detection, options)
