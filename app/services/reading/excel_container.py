"""Workbook container checks done before calamine sees the file: ZIP bomb guard, date system."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from app.services.reading.detect import ContainerKind
from app.services.reading.errors import UnreadableFileError
from app.services.reading.inflate import inflated_size, read_head
from app.services.reading.options import ReadOptions
from app.services.reading.sheet_extent import MAX_SHEET_CELLS, SheetExtent

# Deflate cannot beat roughly 1032:1, and real sheet XML rarely passes 200:1 because every cell
# carries its own address; the ratio limit itself is a setting (ReadOptions.max_compression_ratio).
# Small members may legitimately be very compressible (empty styles, shared formulas).
_RATIO_FLOOR_BYTES = 16 * 1024 * 1024
# Pictures and embedded files are never loaded by the cell reader, so they spend no budget.
_NOT_LOADED = ("xl/media/", "xl/embeddings/", "docProps/thumbnail", "Pictures/", "Thumbnails/")
# The workbook settings sit at the start of these parts; the rest is never inflated.
_SETTINGS_HEAD_BYTES = 1024 * 1024

_ZIP_KINDS = frozenset({ContainerKind.XLSX, ContainerKind.XLSB, ContainerKind.ODS})

_DATE1904_XML = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*?\bdate1904\s*=\s*[\"'](1|true)[\"']")
_ODS_NULL_DATE = re.compile(rb"null-date\b[^>]*?date-value\s*=\s*[\"'](\d{4})-(\d\d)-(\d\d)")

_BRT_WB_PROP = 0x0099  # XLSB workbook properties record; bit 0 of its flags is fDate1904
_BIFF_DATEMODE = 0x0022  # XLS globals record: 1 means the 1904 date system
_BIFF_EOF = 0x000A


@dataclass(frozen=True, slots=True)
class DateSystem:
    date1904: bool
    reason: str


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def _refusal(path: Path, detail: str) -> UnreadableFileError:
    return UnreadableFileError("decompression_bomb", f"{path.name} {detail}")


def guard_expansion(path: Path, kind: ContainerKind, options: ReadOptions) -> None:
    """Refuse a ZIP-based workbook whose parts expand beyond the budget or the ratio limit.

    The declared sizes are checked first (cheap), then every loaded part is inflated as a
    stream and counted, since a header can understate what its data expands to.
    """
    if kind not in _ZIP_KINDS:
        return
    budget = min(options.max_expanded_bytes, options.max_workbook_bytes)
    ratio = options.max_compression_ratio
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
            members = [m for m in archive.infolist() if not m.filename.startswith(_NOT_LOADED)]
            declared = sum(member.file_size for member in members)
            if declared > budget:
                raise _refusal(
                    path,
                    f"would expand to {_mib(declared)} when opened, more than the "
                    f"{_mib(budget)} limit. {_ADVICE}",
                )
            used = 0
            for member in members:
                extent = SheetExtent() if _WORKSHEET.match(member.filename) else None
                part = inflated_size(
                    handle,
                    archive,
                    member,
                    budget - used,
                    ratio=ratio,
                    ratio_floor=_RATIO_FLOOR_BYTES,
                    sink=extent,
                )
                if extent is not None and extent.cells > MAX_SHEET_CELLS:
                    raise _refusal(
                        path,
                        f"has a sheet whose cells reach {extent.far_corner()}: "
                        f"{extent.rows:,} rows by {extent.columns:,} columns, more than a "
                        f"reader can hold ({MAX_SHEET_CELLS:,} cells). A stray value far "
                        "below or to the right of the data usually does this: delete the empty "
                        "rows and columns past the data in Excel, or save the sheet as CSV.",
                    )
                if part.over_ratio:
                    raise _refusal(
                        path,
                        f"contains a part ({member.filename}) that expands more than "
                        f"{ratio:,} times; real workbooks never compress that much "
                        f"(limit {ratio}:1), so it was not opened.",
                    )
                used += part.size
                if used > budget:
                    raise _refusal(
                        path,
                        f"expands to more than the {_mib(budget)} limit when opened (stopped "
                        f"inside {member.filename}); a workbook is held in memory while it is "
                        f"read. {_ADVICE}",
                    )
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError) as exc:
        raise UnreadableFileError(
            "corrupt_workbook",
            f"{path.name} is damaged: its ZIP structure cannot be read ({exc}). "
            "It may be truncated: copy it again or re-save it from Excel.",
        ) from exc


# xlsx/xlsm worksheets, whose cell references say how far the sheet reaches.
_WORKSHEET = re.compile(r"xl/worksheets/sheet[0-9]+\.xml$")

_ADVICE = (
    "Save the sheet as CSV (read as a stream, without this limit), split the workbook, "
    "or raise the workbook limit in Settings if the file is genuine."
)


def detect_date_system(path: Path, kind: ContainerKind) -> DateSystem:
    """Which epoch the workbook's serial dates count from; unreadable settings mean 1900."""
    try:
        if kind is ContainerKind.XLSX:
            return _xlsx_date_system(path)
        if kind is ContainerKind.XLSB:
            return _xlsb_date_system(path)
        if kind is ContainerKind.XLS:
            return _xls_date_system(path)
        if kind is ContainerKind.ODS:
            return _ods_date_system(path)
    except (OSError, KeyError, IndexError, zipfile.BadZipFile, zlib.error, struct.error) as exc:
        # calamine reports real damage with a better message; the date setting is not worth
        # failing for, so fall back to Excel's default and say so.
        return DateSystem(
            False,
            f"the workbook's date setting could not be read ({exc}); "
            "assumed Excel's default 1900 date system",
        )
    return DateSystem(False, "Excel's default 1900 date system")


_SAID_1904 = (
    "the workbook uses the 1904 date system (a setting from older Mac Excel), so date "
    "serial numbers count from 1904-01-01"
)
_SAID_1900 = "the workbook uses Excel's standard 1900 date system"


def _xlsx_date_system(path: Path) -> DateSystem:
    with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as handle:
        # workbookPr comes before the sheet list, so the head of the part is enough.
        head = handle.read(64 * 1024)
    is1904 = _DATE1904_XML.search(head) is not None
    return DateSystem(is1904, _SAID_1904 if is1904 else _SAID_1900)


def _read_varint(data: bytes, pos: int, max_bytes: int) -> tuple[int, int]:
    value = 0
    for shift in range(max_bytes):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            break
    return value, pos


def _xlsb_date_system(path: Path) -> DateSystem:
    with zipfile.ZipFile(path) as archive:
        # A crafted workbook.bin could be huge; the properties record comes first anyway.
        data = read_head(archive, "xl/workbook.bin", _SETTINGS_HEAD_BYTES)
    pos = 0
    # BIFF12 records: a 1-2 byte type and a 1-4 byte size, both 7 bits per byte.
    while pos < len(data):
        record, pos = _read_varint(data, pos, 2)
        size, pos = _read_varint(data, pos, 4)
        if record == _BRT_WB_PROP and size >= 4:
            (flags,) = struct.unpack_from("<I", data, pos)
            is1904 = bool(flags & 1)
            return DateSystem(is1904, _SAID_1904 if is1904 else _SAID_1900)
        pos += size
    return DateSystem(False, _SAID_1900)


def _xls_date_system(path: Path) -> DateSystem:
    import olefile  # noqa: PLC0415 - msoffcrypto's dependency; only legacy .xls needs it

    with olefile.OleFileIO(str(path)) as ole:
        stream_name = "Workbook" if ole.exists("Workbook") else "Book"
        data: bytes = ole.openstream(stream_name).read()
    pos = 0
    # BIFF8 globals: 2-byte type, 2-byte length; DATEMODE sits before the first EOF record.
    while pos + 4 <= len(data):
        record, length = struct.unpack_from("<HH", data, pos)
        if record == _BIFF_DATEMODE and length >= 2:
            (mode,) = struct.unpack_from("<H", data, pos + 4)
            return DateSystem(mode == 1, _SAID_1904 if mode == 1 else _SAID_1900)
        if record == _BIFF_EOF:
            break
        pos += 4 + length
    return DateSystem(False, _SAID_1900)


def _ods_date_system(path: Path) -> DateSystem:
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as handle:
        # calculation-settings precede the tables, so the head of content.xml is enough.
        head = handle.read(256 * 1024)
    match = _ODS_NULL_DATE.search(head)
    if match and match.group(1) == b"1904":
        return DateSystem(True, "the spreadsheet counts date serial numbers from 1904-01-01")
    return DateSystem(
        False,
        "OpenDocument stores dates as calendar dates; plain serial numbers count from 1899-12-30 "
        "like Excel's 1900 system",
    )
