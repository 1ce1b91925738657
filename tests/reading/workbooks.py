"""Small workbooks generated on the fly for the Excel reader tests (nothing binary is committed)."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

Row = Sequence[Any]


def xlsx(path: Path, sheets: dict[str, Iterable[Row]], *, date1904: bool = False) -> Path:
    """Write sheets with openpyxl (rows start at A1); None leaves a cell empty."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = openpyxl.Workbook()
    book.remove(book.active)
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def xlsx_cells(path: Path, cells: dict[str, Any], *, hidden: bool = False) -> Path:
    """One sheet with values at explicit addresses, for layouts that do not start at A1."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Report"
    for address, value in cells.items():
        sheet[address] = value
    if hidden:
        sheet.sheet_state = "hidden"
    book.save(path)
    return path


def xlsx_with_formula_errors(path: Path, errors: dict[tuple[int, int], tuple[str, str]]) -> Path:
    """id/amount/label/when table (rows 2-9) with cached formula results, as Excel saves them.

    openpyxl cannot store a cached value, so xlsxwriter writes the formula with its result.
    `errors` maps a 0-based (row, col) to (formula, cached error text).
    """
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["id", "amount", "label", "when"])
    for row in range(1, 9):
        sheet.write_number(row, 0, row)
        sheet.write_number(row, 1, row * 1.5)
        sheet.write_string(row, 2, f"item {row}")
        sheet.write_datetime(row, 3, dt.datetime(2024, 1, row), date_format)
    for (row, col), (formula, cached) in errors.items():
        sheet.write_formula(row, col, formula, None, cached)
    book.close()
    return path


def xls(path: Path, rows: Iterable[Row], *, date1904: bool = False) -> Path:
    """Legacy Excel 97-2003 through xlwt (test-only dependency)."""
    import xlwt

    book = xlwt.Workbook()
    book.dates_1904 = date1904
    sheet = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime | dt.date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def xlsb(path: Path, sheets: dict[str, Iterable[Row]], *, hidden: Iterable[str] = ()) -> Path:
    """Excel binary workbook through pyxlsbwriter (test-only dependency)."""
    import pyxlsbwriter

    hidden_names = set(hidden)
    with pyxlsbwriter.XlsbWriter(str(path)) as writer:
        for name, rows in sheets.items():
            writer.add_sheet(name, hidden=name in hidden_names)
            writer.write_sheet([list(row) for row in rows])
    return path


def set_xlsb_date1904(path: Path) -> Path:
    """Flip fDate1904 in BrtWbProp: pyxlsbwriter cannot, and Mac-era files still arrive."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    data = bytearray(parts["xl/workbook.bin"])
    marker = data.index(b"\x99\x01")  # BrtWbProp record type (0x99 as a 2-byte varint)
    flags_at = marker + 3  # type (2 bytes) + size (1 byte)
    data[flags_at] |= 1
    parts["xl/workbook.bin"] = bytes(data)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in parts.items():
            archive.writestr(name, payload)
    return path


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def _ods_cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        flag = "true" if value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{flag}">'
            f"<text:p>{flag}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if isinstance(value, dt.date):
        return (
            f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}">'
            f"<text:p>{value.isoformat()}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
    )


def ods(path: Path, sheets: dict[str, Iterable[Row]], *, null_date: str | None = None) -> Path:
    """A minimal OpenDocument spreadsheet written by hand (no odfpy needed)."""
    settings = (
        "<table:calculation-settings>"
        f'<table:null-date table:date-value="{null_date}"/>'
        "</table:calculation-settings>"
        if null_date
        else ""
    )
    tables = "".join(
        f'<table:table table:name="{name}">'
        + "".join(
            "<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<office:document-content {_ODS_NS} office:version="1.2"><office:body>'
        f"<office:spreadsheet>{settings}{tables}</office:spreadsheet>"
        "</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        # The mimetype must be the first entry and stored uncompressed.
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def zip_bomb_xlsx(path: Path, expanded_bytes: int) -> Path:
    """A valid-looking xlsx whose one sheet is `expanded_bytes` of highly repetitive XML."""
    template = path.with_suffix(".template.xlsx")
    xlsx(template, {"Sheet1": [["a"], [1]]})
    with zipfile.ZipFile(template) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    template.unlink()
    head = b'<?xml version="1.0"?><worksheet><sheetData>'
    tail = b"</sheetData></worksheet>"
    chunk = b"<row/>" * (1024 * 1024 // 6)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, payload)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(head)
            written = len(head)
            while written < expanded_bytes:
                member.write(chunk)
                written += len(chunk)
            member.write(tail)
    return path


def wide_xlsx(path: Path, columns: int, rows: int = 3) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Wide")
    sheet.write_row(0, 0, [f"c{i}" for i in range(columns)])
    for r in range(1, rows + 1):
        sheet.write_row(r, 0, [r * i for i in range(columns)])
    book.close()
    return path


def encrypt(source: Path, target: Path, password: str = "secret") -> Path:
    import msoffcrypto.format.ooxml

    with source.open("rb") as plain, target.open("wb") as out:
        msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt(password, out)
    return target


def sales_xlsx(path: Path, rows: int) -> Path:
    """The benchmark shape: 12 typed columns, shared strings, one date column."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sales")
    date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(
        0,
        0,
        [
            "order_date",
            "order_id",
            "region",
            "country",
            "product",
            "category",
            "quantity",
            "unit_price",
            "discount",
            "amount",
            "customer",
            "channel",
        ],
    )
    regions = ["North", "South", "East", "West"]
    base = dt.datetime(2024, 1, 1)
    for r in range(1, rows + 1):
        sheet.write_datetime(r, 0, base + dt.timedelta(minutes=r), date_format)
        sheet.write_number(r, 1, 100000 + r)
        sheet.write_string(r, 2, regions[r % 4])
        sheet.write_string(r, 3, "DE" if r % 3 else "FR")
        sheet.write_string(r, 4, f"P{r % 200:03d}")
        sheet.write_string(r, 5, f"cat{r % 7}")
        sheet.write_number(r, 6, r % 17)
        sheet.write_number(r, 7, (r % 100) + 0.99)
        sheet.write_number(r, 8, (r % 5) / 100)
        sheet.write_number(r, 9, (r % 17) * ((r % 100) + 0.99))
        sheet.write_string(r, 10, f"C{r % 5000:05d}")
        sheet.write_string(r, 11, "web" if r % 2 else "store")
    book.close()
    return path
