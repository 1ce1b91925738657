"""The Excel reader: sheet choice, layout sniffing, date systems, formula errors, broken files."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from app.domain.validation import Severity, SourceKind
from app.services.reading import excel
from app.services.reading.errors import UnreadableFileError
from app.services.reading.opener import list_sheets, open_source
from app.services.reading.options import ReadOptions
from app.services.reading.source import ROW_COLUMN, SourceTable
from tests.reading import workbooks


def _decision(table: SourceTable, name: str) -> tuple[str, str]:
    found = [(d.value, d.reason) for d in table.decisions if d.name == name]
    assert found, f"no {name} decision in {table.decisions}"
    return found[0]


def _codes(table: SourceTable) -> list[str]:
    return [issue.code for issue in table.issues]


def _unreadable(path: Path, options: ReadOptions | None = None) -> UnreadableFileError:
    with pytest.raises(UnreadableFileError) as caught:
        open_source(path, options)
    return caught.value


# --- sheets -------------------------------------------------------------------------------


@pytest.fixture
def three_sheets(tmp_path: Path) -> Path:
    path = workbooks.xlsx(
        tmp_path / "book.xlsx",
        {
            "Notes": [["note"], ["a"], ["b"], ["c"]],
            "Sales": [
                ["day", "amount"],
                *[[dt.datetime(2024, 1, i), i * 2.5] for i in range(1, 21)],
            ],
            "Lookup": [["code"], *[[f"K{i}"] for i in range(100)]],
        },
    )
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["Lookup"].sheet_state = "hidden"
    book.save(path)
    return path


def test_lists_every_sheet_with_rows_columns_and_visibility(three_sheets: Path) -> None:
    sheets = {s.name: s for s in list_sheets(three_sheets)}
    assert list(sheets) == ["Notes", "Sales", "Lookup"]
    assert (sheets["Notes"].rows, sheets["Notes"].columns, sheets["Notes"].visible) == (3, 1, True)
    assert (sheets["Sales"].rows, sheets["Sales"].columns) == (20, 2)
    assert (sheets["Lookup"].rows, sheets["Lookup"].visible) == (100, False)


def test_defaults_to_the_visible_sheet_with_most_data(three_sheets: Path) -> None:
    table = open_source(three_sheets)
    assert table.kind is SourceKind.EXCEL
    assert table.sheet == "Sales"
    value, reason = _decision(table, "sheet")
    assert value == "Sales"
    assert "most data: 20 rows" in reason
    assert "Notes (3 rows)" in reason and "Lookup (100 rows, hidden)" in reason
    assert len(table.sheets) == 3
    frame = table.frame.collect()
    assert frame.columns == ["day", "amount", ROW_COLUMN]
    assert frame.schema["day"] == pl.Datetime("ms")
    assert frame.height == 20


def test_reads_the_sheet_the_user_chose(three_sheets: Path) -> None:
    table = open_source(three_sheets, ReadOptions(sheet="Notes"))
    assert table.sheet == "Notes"
    assert _decision(table, "sheet") == ("Notes", "the sheet you chose")
    assert table.frame.collect()["note"].to_list() == ["a", "b", "c"]
    # Sheet names are case-insensitive in Excel, so a differently-cased choice still works.
    assert open_source(three_sheets, ReadOptions(sheet="notes")).sheet == "Notes"


def test_missing_sheet_names_the_sheets_that_exist(three_sheets: Path) -> None:
    error = _unreadable(three_sheets, ReadOptions(sheet="Summary"))
    assert error.code == "sheet_not_found"
    assert "'Summary'" in error.message
    assert "'Notes', 'Sales', 'Lookup'" in error.message


def test_empty_and_header_only_sheets_give_zero_rows(tmp_path: Path) -> None:
    path = workbooks.xlsx(tmp_path / "e.xlsx", {"Empty": [], "Head": [["a", "b"]]})
    empty = open_source(path, ReadOptions(sheet="Empty")).frame.collect()
    assert empty.height == 0 and empty.columns == [ROW_COLUMN]
    head = open_source(path, ReadOptions(sheet="Head"))
    frame = head.frame.collect()
    assert frame.height == 0
    assert frame.columns == ["a", "b", ROW_COLUMN]
    assert frame.schema["a"] == pl.String  # an empty column is text, not Polars' Null type


# --- layout: header, footer, names, row numbers -------------------------------------------


def test_title_rows_above_the_header_are_skipped(tmp_path: Path) -> None:
    cells = {"A1": "Monthly sales report", "A2": "Generated 2024-02-01"}
    for col, name in zip("ABC", ["Date", "Region", "Amount"], strict=True):
        cells[f"{col}4"] = name
    for i in range(5):
        cells[f"A{5 + i}"] = dt.datetime(2024, 1, 1 + i)
        cells[f"B{5 + i}"] = "North"
        cells[f"C{5 + i}"] = 10.5 * i
    table = open_source(workbooks.xlsx_cells(tmp_path / "t.xlsx", cells))
    value, reason = _decision(table, "header_row")
    assert value == "4"
    assert "Monthly sales report" in reason and "row 4" in reason
    frame = table.frame.collect()
    assert table.columns == ("Date", "Region", "Amount")
    # Typed as if the title were not there: dates stay dates, amounts stay numbers.
    assert frame.schema["Date"] == pl.Datetime("ms")
    assert frame.schema["Amount"] == pl.Float64
    assert frame[ROW_COLUMN].to_list() == [5, 6, 7, 8, 9]


def test_table_not_starting_in_column_a_keeps_excel_row_numbers(tmp_path: Path) -> None:
    cells = {"C3": "Report", "C5": "id", "D5": "name", "C6": 1, "D6": "x", "C8": 3, "D8": "z"}
    table = open_source(workbooks.xlsx_cells(tmp_path / "t.xlsx", cells))
    frame = table.frame.collect()
    assert table.columns == ("id", "name")  # empty columns A and B are not invented
    # The blank row 7 stays, so every later row keeps the number Excel shows.
    assert frame[ROW_COLUMN].to_list() == [6, 7, 8]
    assert frame["id"].to_list() == [1.0, None, 3.0]


def test_user_header_row_override(tmp_path: Path) -> None:
    path = workbooks.xlsx(tmp_path / "h.xlsx", {"S": [["junk", "junk"], ["a", "b"], [1, 2]]})
    table = open_source(path, ReadOptions(header_row=2))
    assert table.columns == ("a", "b")
    assert _decision(table, "header_row") == ("2", "the header row you chose")
    assert table.frame.collect()[ROW_COLUMN].to_list() == [3]


def test_totals_and_note_rows_are_excluded_and_reported(tmp_path: Path) -> None:
    rows = [["Day", "Region", "Amount"]]
    rows += [[dt.datetime(2024, 1, d), "North", 10.0 * d] for d in range(1, 7)]
    rows += [[None, None, None], ["Total", None, 210.0], ["Source: finance export, EUR"]]
    table = open_source(workbooks.xlsx(tmp_path / "f.xlsx", {"S": rows}))
    frame = table.frame.collect()
    assert frame.height == 6
    assert table.footer_rows == 3
    # 'Total' sat in the date column; once excluded the column is typed as dates again.
    assert frame.schema["Day"] == pl.Datetime("ms")
    value, reason = _decision(table, "footer_rows")
    assert value == "3"
    assert "row 9 is a total line ('Total')" in reason
    assert "row 10 is a note" in reason
    footer = [i for i in table.issues if i.code == "footer_row_excluded"]
    assert [(i.row, i.value, i.severity) for i in footer] == [
        (9, "Total", Severity.WARNING),
        (10, "Source: finance export, EUR", Severity.WARNING),
    ]


def test_sparse_last_row_of_numbers_is_data_not_footer(tmp_path: Path) -> None:
    rows = [["a", "b", "c"], [1, 2, 3], [4, 5, 6], [7, None, None]]
    table = open_source(workbooks.xlsx(tmp_path / "s.xlsx", {"S": rows}))
    assert table.footer_rows == 0
    assert table.frame.collect().height == 3


def test_duplicate_and_blank_headers_are_made_unique_with_warnings(tmp_path: Path) -> None:
    rows = [["id", "id", None, " name ", "id_9"], [1, 2, 3, "x", 5]]
    table = open_source(workbooks.xlsx(tmp_path / "d.xlsx", {"S": rows}))
    # fastexcel had renamed the second 'id' to 'id_1'; the reader recovers the text as written.
    assert table.source_names == ("id", "id", "", " name ", "id_9")
    assert table.columns == ("id", "id_2", "column_3", "name", "id_9")
    assert _codes(table).count("duplicate_header") == 1
    assert _codes(table).count("blank_header") == 1
    assert table.frame.collect().row(0) == (1.0, 2.0, 3.0, "x", 5.0, 2)


def test_mixed_column_is_text_when_the_odd_value_is_far_down(tmp_path: Path) -> None:
    rows: list[list[object]] = [["code", "qty"]]
    rows += [[i, i] for i in range(1, 2001)]
    rows[1800][0] = "A-17"  # past fastexcel's default 1,000-row type sample
    table = open_source(workbooks.xlsx(tmp_path / "m.xlsx", {"S": rows}))
    frame = table.frame.collect()
    assert frame.schema["code"] == pl.String
    assert frame.schema["qty"] == pl.Float64
    assert frame.filter(pl.col(ROW_COLUMN) == 1801)["code"].item() == "A-17"


def test_leading_zero_codes_stored_as_text_stay_text(tmp_path: Path) -> None:
    table = open_source(workbooks.xlsx(tmp_path / "z.xlsx", {"S": [["zip"], ["01234"], ["00501"]]}))
    assert table.frame.collect()["zip"].to_list() == ["01234", "00501"]


# --- date systems -------------------------------------------------------------------------


def _date_book(path: Path, *, date1904: bool) -> Path:
    rows = [["when", "serial"], [dt.datetime(2024, 3, 15, 12, 0), 45000], [dt.date(2024, 3, 16), 1]]
    return workbooks.xlsx(path, {"S": rows}, date1904=date1904)


def test_1900_date_system(tmp_path: Path) -> None:
    table = open_source(_date_book(tmp_path / "d.xlsx", date1904=False))
    assert table.date1904 is False
    assert _decision(table, "date_system")[0] == "1900"
    frame = table.frame.collect()
    assert frame["when"].to_list() == [dt.datetime(2024, 3, 15, 12), dt.datetime(2024, 3, 16)]


def test_1904_date_system(tmp_path: Path) -> None:
    path = _date_book(tmp_path / "d.xlsx", date1904=True)
    table = open_source(path)
    assert table.date1904 is True
    value, reason = _decision(table, "date_system")
    assert value == "1904" and "1904-01-01" in reason
    frame = table.frame.collect()
    # calamine already applies the 1904 epoch to date-formatted cells ...
    assert frame["when"].to_list() == [dt.datetime(2024, 3, 15, 12), dt.datetime(2024, 3, 16)]
    # ... while plain numbers stay numbers; validation converts them using date1904.
    assert frame["serial"].to_list() == [45000.0, 1.0]


# --- formula errors -----------------------------------------------------------------------

_ERRORS = {
    (3, 1): ("=1/0", "#DIV/0!"),
    (4, 2): ("=NA()", "#N/A"),
    (5, 3): ("=A1+", "#VALUE!"),
    (6, 0): ("=#REF!", "#REF!"),
}


def test_formula_errors_become_nulls_reported_per_cell(tmp_path: Path) -> None:
    path = workbooks.xlsx_with_formula_errors(tmp_path / "f.xlsx", _ERRORS)
    table = open_source(path)
    frame = table.frame.collect()
    # The error cells do not turn their columns into text.
    assert frame.schema["amount"] == pl.Float64
    assert frame.schema["when"] == pl.Datetime("ms")
    assert frame.schema["id"] == pl.Float64
    assert frame.filter(pl.col(ROW_COLUMN) == 4)["amount"].item() is None
    issues = [i for i in table.issues if i.code == "formula_error"]
    assert [(i.row, i.column, i.value) for i in issues] == [
        (4, "amount", "#DIV/0!"),
        (5, "label", "#N/A"),
        (6, "when", "#VALUE!"),
        (7, "id", "#REF!"),
    ]
    assert all(i.severity is Severity.WARNING for i in issues)
    assert "Cell B4 shows the formula error #DIV/0!" in issues[0].message


def test_many_formula_errors_are_summarised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "MAX_CELL_ISSUES", 2)
    table = open_source(workbooks.xlsx_with_formula_errors(tmp_path / "f.xlsx", _ERRORS))
    issues = [i for i in table.issues if i.code == "formula_error"]
    assert len(issues) == 3
    assert issues[-1].row is None and "2 more cells" in issues[-1].message


def test_without_pyarrow_formula_errors_are_nulls_and_the_gap_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel, "_HAS_PYARROW", False)
    table = open_source(workbooks.xlsx_with_formula_errors(tmp_path / "f.xlsx", _ERRORS))
    assert "formula_errors_unchecked" in _codes(table)
    assert table.frame.collect().filter(pl.col(ROW_COLUMN) == 4)["amount"].item() is None


# --- other formats ------------------------------------------------------------------------


def test_xls_legacy_workbook(tmp_path: Path) -> None:
    rows = [["when", "qty", "ok", "name"], [dt.datetime(2024, 3, 15, 8, 30), 5, True, "a"]]
    rows.append([dt.datetime(2024, 3, 16), 6, False, "b"])
    table = open_source(workbooks.xls(tmp_path / "old.xls", rows))
    frame = table.frame.collect()
    assert table.date1904 is False
    assert frame.schema["qty"] == pl.Int64 and frame.schema["ok"] == pl.Boolean
    assert frame["when"].to_list() == [dt.datetime(2024, 3, 15, 8, 30), dt.datetime(2024, 3, 16)]
    assert frame[ROW_COLUMN].to_list() == [2, 3]


def test_xls_1904_date_system(tmp_path: Path) -> None:
    rows = [["when"], [dt.datetime(2024, 3, 15)]]
    table = open_source(workbooks.xls(tmp_path / "mac.xls", rows, date1904=True))
    assert table.date1904 is True
    assert table.frame.collect()["when"].to_list() == [dt.datetime(2024, 3, 15)]


def test_xlsb_binary_workbook(tmp_path: Path) -> None:
    sheets = {
        "Data": [["when", "amount", "name"], [dt.datetime(2024, 3, 15, 12), 1.5, "x"]],
        "Hidden": [["a"], [1], [2], [3]],
    }
    path = workbooks.xlsb(tmp_path / "b.xlsb", sheets, hidden=["Hidden"])
    infos = {s.name: s for s in list_sheets(path)}
    assert infos["Hidden"].visible is False and infos["Hidden"].rows == 3
    table = open_source(path)
    assert table.sheet == "Data"  # the hidden sheet is longer but hidden
    assert table.date1904 is False
    frame = table.frame.collect()
    assert frame.row(0) == (dt.datetime(2024, 3, 15, 12), 1.5, "x", 2)


def test_xlsb_1904_flag_is_read(tmp_path: Path) -> None:
    path = workbooks.xlsb(tmp_path / "b.xlsb", {"Data": [["when"], [dt.datetime(2024, 3, 15)]]})
    table = open_source(workbooks.set_xlsb_date1904(path))
    assert table.date1904 is True
    # The writer stored a 1900-system serial; calamine reads it with the 1904 epoch, which
    # proves the flag reaches date cells (4 years and a day later).
    assert table.frame.collect()["when"].to_list() == [dt.datetime(2028, 3, 16)]


def test_ods_spreadsheet(tmp_path: Path) -> None:
    sheets = {
        "Data": [
            ["day", "amount", "ok"],
            [dt.date(2024, 3, 15), 1.5, True],
            [dt.date(2024, 3, 16), 2, False],
        ],
        "Notes": [["text"]],
    }
    path = workbooks.ods(tmp_path / "calc.ods", sheets)
    assert [s.name for s in list_sheets(path)] == ["Data", "Notes"]
    table = open_source(path)
    frame = table.frame.collect()
    assert table.sheet == "Data" and table.date1904 is False
    assert frame["amount"].to_list() == [1.5, 2.0]
    assert frame["ok"].to_list() == [True, False]
    assert frame["day"].to_list() == [dt.date(2024, 3, 15), dt.date(2024, 3, 16)]


def test_ods_null_date_1904(tmp_path: Path) -> None:
    path = workbooks.ods(tmp_path / "mac.ods", {"S": [["n"], [1]]}, null_date="1904-01-01")
    assert open_source(path).date1904 is True


# --- broken and hostile input -------------------------------------------------------------


def test_truncated_xlsx_is_reported_as_corrupt(tmp_path: Path) -> None:
    good = workbooks.xlsx(tmp_path / "good.xlsx", {"S": [["a"], *[[i] for i in range(500)]]})
    cut = tmp_path / "cut.xlsx"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    error = _unreadable(cut)
    assert error.code == "corrupt_workbook"
    assert "truncated" in error.message or "damaged" in error.message


def test_damaged_sheet_inside_a_valid_zip_is_reported_as_corrupt(tmp_path: Path) -> None:
    import zipfile

    good = workbooks.xlsx(tmp_path / "good.xlsx", {"S": [["a"], [1]]})
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            payload = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                payload = payload[: len(payload) // 2]  # XML cut mid-element
            dst.writestr(info.filename, payload)
    error = _unreadable(bad)
    assert error.code == "corrupt_workbook"
    assert "bad.xlsx" in error.message


def test_password_protected_xlsx(tmp_path: Path) -> None:
    plain = workbooks.xlsx(tmp_path / "plain.xlsx", {"S": [["a"], [1]]})
    locked = workbooks.encrypt(plain, tmp_path / "locked.xlsx")
    error = _unreadable(locked)
    assert error.code == "encrypted_workbook"
    assert "password" in error.message


def test_decompression_bomb_over_the_size_limit(tmp_path: Path) -> None:
    path = workbooks.zip_bomb_xlsx(tmp_path / "bomb.xlsx", 40 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024
    limit = ReadOptions(max_expanded_bytes=20 * 1024 * 1024)
    error = _unreadable(path, limit)
    assert error.code == "decompression_bomb"
    assert "20 MB limit" in error.message
    assert re.search(r"expand to 4\d MB", error.message)
    # Listing sheets opens the workbook too, so it is guarded as well (here by the ratio).
    with pytest.raises(UnreadableFileError) as caught:
        list_sheets(path)
    assert caught.value.code == "decompression_bomb"


def test_decompression_bomb_by_compression_ratio(tmp_path: Path) -> None:
    path = workbooks.zip_bomb_xlsx(tmp_path / "bomb.xlsx", 64 * 1024 * 1024)
    error = _unreadable(path)  # under the default size limit, but no sheet compresses 1000:1
    assert error.code == "decompression_bomb"
    assert "sheet1.xml" in error.message and "500:1" in error.message


def test_1500_columns_read_and_column_limit(tmp_path: Path) -> None:
    path = workbooks.wide_xlsx(tmp_path / "wide.xlsx", 1500)
    table = open_source(path)
    frame = table.frame.collect()
    assert frame.width == 1501 and frame.height == 3
    assert table.columns[-1] == "c1499"
    error = _unreadable(path, ReadOptions(max_columns=1000))
    assert error.code == "too_many_columns"
    assert "1,500 columns" in error.message and "1,000" in error.message


def test_csv_named_xlsx_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    table = open_source(path)
    assert table.kind is SourceKind.DELIMITED
    assert table.frame.collect().height == 2
