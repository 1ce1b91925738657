"""Exported errors open in a spreadsheet as text: no formula, link or number made of a cell."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import polars as pl
import pytest

from app.domain.validation import Severity, ValidationIssue
from app.services.report_export import csv_safe, export_bad_rows, export_issues

HOSTILE = [
    "=1+2",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil.example","x")',
]


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("cell", HOSTILE)
def test_csv_export_prefixes_formula_like_cells(tmp_path: Path, cell: str) -> None:
    frame = pl.DataFrame({"value": [cell], "reason": ["bad"], "row": [3]})
    rows = _read_csv(export_bad_rows(frame, tmp_path / "errors.csv"))
    assert rows[1] == ["'" + cell, "bad", "3"]


def test_csv_export_leaves_plain_values_and_numbers_alone(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"value": ["-12.5", "+3", "1e5", "plain", "a=b", None], "n": [-1, 2, 3, 4, 5, 6]}
    )
    rows = _read_csv(export_bad_rows(frame, tmp_path / "errors.csv"))
    assert [row[0] for row in rows[1:]] == ["-12.5", "+3", "1e5", "plain", "a=b", ""]
    assert [row[1] for row in rows[1:]] == ["-1", "2", "3", "4", "5", "6"]


def test_csv_export_escapes_a_formula_in_the_header(tmp_path: Path) -> None:
    frame = pl.DataFrame({"=cmd()": ["x"], "reason": ["bad"]})
    assert _read_csv(export_bad_rows(frame, tmp_path / "errors.csv"))[0] == ["'=cmd()", "reason"]


def test_issue_export_escapes_values_and_messages(tmp_path: Path) -> None:
    issue = ValidationIssue(
        Severity.ERROR, "not_a_number", "'=1+2' is not a number.", row=4, column="@qty",
        value="=1+2",
    )
    rows = _read_csv(export_issues([issue], tmp_path / "issues.csv"))
    assert rows[1] == ["4", "'@qty", "'=1+2", "error", "'=1+2' is not a number."]


def test_csv_safe_matches_the_frame_rule() -> None:
    assert [csv_safe(c) for c in ("=x", "-5", "-x", "ok", "-3\n")] == [
        "'=x", "-5", "'-x", "ok", "'-3\n",
    ]


def test_xlsx_export_writes_every_cell_as_a_string(tmp_path: Path) -> None:
    frame = pl.DataFrame({"value": [*HOSTILE, "http://evil.example/x", "1e5"]})
    target = export_bad_rows(frame, tmp_path / "errors.xlsx")
    with zipfile.ZipFile(target) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet  # no formulas
    assert "hyperlink" not in sheet  # no live links
    assert sheet.count('t="s"') == len(HOSTILE) + 3  # the header and every cell: strings
    assert "=1+2" in strings and "http://evil.example/x" in strings
