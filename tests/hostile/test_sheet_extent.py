"""A tiny workbook whose one stray cell makes the sheet a rectangle no reader can hold."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from app.services.reading.sheet_extent import SheetExtent, column_letters, column_number
from tests.hostile.child import GIB, run_cli


def _stray_cell_workbook(path: Path, row: int, column: int) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("orders")
    sheet.write_row(0, 0, ["when", "qty"])
    sheet.write_row(1, 0, ["2024-01-01", 1])
    sheet.write(row, column, "x")
    book.close()
    return path


def test_a_stray_cell_at_the_sheets_far_corner_is_refused_not_a_process_abort(
    tmp_path: Path,
) -> None:
    # 5 KB on disk; read naively it asks for 512 GB and the native reader aborts the process.
    path = _stray_cell_workbook(tmp_path / "stray.xlsx", 1_048_575, 16_383)
    assert path.stat().st_size < 20_000
    run = run_cli(["validate", str(path)], tmp_path)
    assert run.code == 2, run.stderr
    assert "has a sheet whose cells reach XFD1048576: 1,048,576 rows by 16,384 columns" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr and "panicked" not in run.stderr
    assert run.peak_rss_bytes < 1.5 * GIB


def test_a_wide_but_honest_sheet_still_reads(tmp_path: Path) -> None:
    path = _stray_cell_workbook(tmp_path / "wide.xlsx", 3, 200)  # a note in column GS
    run = run_cli(["validate", str(path)], tmp_path)
    assert "sheet whose cells reach" not in run.stderr


def test_cell_references_split_between_chunks_are_still_seen() -> None:
    extent = SheetExtent()
    xml = b'<row r="70000"><c r="AB70000" t="s"><v>1</v></c></row>'
    for start in range(0, len(xml), 7):
        extent(xml[start:start + 7])
    assert (extent.rows, extent.columns, extent.far_corner()) == (70_000, 28, "AB70000")
    assert column_number(b"XFD") == 16_384 and column_letters(16_384) == "XFD"
