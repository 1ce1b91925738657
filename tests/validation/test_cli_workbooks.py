"""`ingest-desk validate` on workbooks: verdicts and messages for the Excel cases of the issue."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli
from tests.reading import workbooks


def _validate(path: Path, *extra: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["validate", str(path), "--json", *extra])
    return result.exit_code, json.loads(result.output)


def test_clean_multi_sheet_workbook_picks_the_biggest_sheet(tmp_path: Path):
    rows = [["day", "amount"]] + [[dt.datetime(2024, 1, d), d * 1.5] for d in range(1, 21)]
    path = workbooks.xlsx(tmp_path / "b.xlsx", {"Notes": [["readme"], ["x"]], "Data": rows})
    code, data = _validate(path)
    assert (code, data["verdict"], data["sheet"], data["rows"]) == (0, "valid", "Data", 20)
    assert data["timestamp_column"] == "day"
    code, data = _validate(path, "--sheet", "Nope")
    assert code == 2 and "Data" in data["message"]


def test_excel_serial_dates_in_a_number_column_honour_1904(tmp_path: Path):
    # 1904 system: serial 0 is 1904-01-01, so 43830 is 2024-01-01 there (2019-12-31 in 1900).
    rows = [["date", "qty"], [43830, 1], [43831, 2]]
    path = workbooks.xlsx(tmp_path / "s.xlsx", {"Data": rows}, date1904=True)
    code, data = _validate(path)
    assert code == 0
    day = next(c for c in data["columns"] if c["name"] == "date")
    assert day["type"] == "timestamp"
    assert data["timestamp"]["format"] == "excel_serial"
    assert (day["min"], day["max"]) == ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")


def test_formula_errors_are_reported_with_their_cells(tmp_path: Path):
    path = workbooks.xlsx_with_formula_errors(
        tmp_path / "f.xlsx", {(2, 1): ("=1/0", "#DIV/0!"), (4, 1): ("=NA()", "#N/A")}
    )
    code, data = _validate(path)
    errors = [i for i in data["issues"] if i["code"] == "formula_error"]
    assert {(i["row"], i["value"]) for i in errors} == {(3, "#DIV/0!"), (5, "#N/A")}
    assert code == 0 and data["verdict"] == "valid"


def test_truncated_and_encrypted_workbooks_are_unreadable(tmp_path: Path):
    good = workbooks.xlsx(tmp_path / "g.xlsx", {"Data": [["a"], [1]]})
    truncated = tmp_path / "t.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    code, data = _validate(truncated)
    assert (code, data["verdict"], data["code"]) == (2, "unreadable", "corrupt_workbook")
    locked = workbooks.encrypt(good, tmp_path / "locked.xlsx")
    code, data = _validate(locked)
    assert (code, data["code"]) == (2, "encrypted_workbook")
    assert "password" in data["message"]


def test_title_rows_and_totals_in_a_workbook(tmp_path: Path):
    rows = [["Sales Q1"], [None], ["day", "amount"]]
    rows += [[dt.datetime(2024, 1, d), d] for d in range(1, 6)] + [["Total", 15]]
    path = workbooks.xlsx(tmp_path / "t.xlsx", {"Data": rows})
    code, data = _validate(path)
    assert (code, data["rows"], data["header_row"]) == (0, 5, 3)
    assert any(d["name"] == "footer_rows" for d in data["decisions"])
