"""Decide what a file really is from its bytes, not only its name."""

from __future__ import annotations

import enum
import gzip
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from app.services.reading.errors import UnreadableFileError

TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".tab"})
EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | EXCEL_EXTENSIONS | frozenset({".gz"})

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Formats people drop by mistake, named so the message can say what the file is.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
)


class ContainerKind(enum.StrEnum):
    TEXT = "text"
    XLSX = "xlsx"  # also xlsm: same container, macros ignored
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"
    ENCRYPTED_OFFICE = "encrypted_office"


@dataclass(frozen=True, slots=True)
class Detection:
    kind: ContainerKind
    gzipped: bool
    reason: str
    warning: str | None = None  # set when the name and the content disagree


@dataclass(frozen=True, slots=True)
class FileState:
    """Enough of a file's metadata to notice that it was rewritten, truncated or replaced."""

    device: int
    inode: int
    size: int
    modified_ns: int


def _os_failure(path: Path, exc: OSError) -> UnreadableFileError:
    """The operating system's refusal to stat or open `path`, in the user's words."""
    if isinstance(exc, FileNotFoundError):
        return UnreadableFileError("not_found", f"The file {path} does not exist.")
    if isinstance(exc, IsADirectoryError):
        return UnreadableFileError("is_directory", f"{path} is a folder, not a file.")
    if isinstance(exc, PermissionError):
        return UnreadableFileError(
            "permission_denied", f"No permission to read {path}. Check the file's sharing."
        )
    return UnreadableFileError("io_error", f"Could not read {path}: {exc.strerror}.")


def file_state(path: Path) -> FileState:
    """The file's state, refusing anything that is not a regular file before it is opened.

    Opening a FIFO blocks until a writer appears, and a device never ends; neither is a file
    a person saved, so both are refused on their metadata alone.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _os_failure(path, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFileError("is_directory", f"{path} is a folder, not a file.")
    if not stat.S_ISREG(info.st_mode):
        what = _SPECIAL_KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
        raise UnreadableFileError(
            "not_a_regular_file",
            f"{path.name} is {what}, not a saved file; it was not read. "
            "Save the data to a CSV or Excel file and add that file.",
        )
    return FileState(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


_SPECIAL_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def _sniff_zip(path: Path) -> ContainerKind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                # Only the head is inflated: a crafted `mimetype` may expand to gigabytes.
                with archive.open("mimetype") as member:
                    mimetype = member.read(100)
                if b"opendocument.spreadsheet" in mimetype:
                    return ContainerKind.ODS
            if "xl/workbook.xml" in names:
                return ContainerKind.XLSX
            if "xl/workbook.bin" in names:
                return ContainerKind.XLSB
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError) as exc:
        raise UnreadableFileError(
            "corrupt_workbook",
            f"{path.name} looks like a workbook but its ZIP structure is damaged ({exc}). "
            "It may be truncated: copy it again or re-save it from Excel.",
        ) from exc
    raise UnreadableFileError(
        "unsupported_zip",
        f"{path.name} is a ZIP archive but not a spreadsheet (no workbook inside). "
        "Unzip it and drop the CSV or Excel file itself.",
    )


def _sniff_ole2(path: Path) -> ContainerKind:
    """An OLE2 file is a legacy .xls, or a modern workbook wrapped in password encryption."""
    try:
        import msoffcrypto  # noqa: PLC0415 - heavy import, only needed for OLE2 files

        with path.open("rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            if office.is_encrypted():
                return ContainerKind.ENCRYPTED_OFFICE
    except Exception:  # noqa: BLE001, S110 - msoffcrypto raises many types; calamine decides next
        pass
    return ContainerKind.XLS


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return True
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    sample = head[:8192]
    # UTF-16 without BOM: every other byte is zero for ASCII content.
    if sample.count(b"\x00") > len(sample) // 4:
        return False
    control = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return control <= max(2, len(sample) // 200)


def detect(path: Path) -> Detection:
    """Look at the file's first bytes and say what it is, refusing what cannot be read."""
    file_state(path)  # before open(): a FIFO would block it
    try:
        with path.open("rb") as handle:
            head = handle.read(16384)
    except OSError as exc:
        raise _os_failure(path, exc) from exc

    suffixes = [s.lower() for s in path.suffixes]
    ext = suffixes[-1] if suffixes else ""
    inner_ext = suffixes[-2] if ext == ".gz" and len(suffixes) > 1 else ext

    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as zipped:
                inner_head = zipped.read(16384)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFileError(
                "corrupt_gzip", f"{path.name} is a damaged or truncated gzip file ({exc})."
            ) from exc
        if not _looks_like_text(inner_head):
            raise UnreadableFileError(
                "unsupported_gzip", "The gzip file does not contain delimited text (CSV/TSV)."
            )
        return Detection(ContainerKind.TEXT, True, "gzip magic bytes; text inside")

    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic):
            raise UnreadableFileError(
                "not_a_spreadsheet",
                f"{path.name} is {what}, not a spreadsheet. "
                "Drop a CSV, TSV, TXT, XLSX, XLSM, XLSB, XLS or ODS file.",
            )

    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        kind = _sniff_zip(path)
        reason = f"ZIP container holding a {kind.value.upper()} workbook"
    elif head.startswith(_OLE2_MAGIC):
        kind = _sniff_ole2(path)
        reason = (
            "OLE2 container with an encryption stream"
            if kind is ContainerKind.ENCRYPTED_OFFICE
            else "OLE2 container (legacy Excel 97-2003)"
        )
    elif _looks_like_text(head):
        kind = ContainerKind.TEXT
        reason = "text content"
    else:
        raise UnreadableFileError(
            "binary_garbage",
            f"{path.name} contains binary data that is neither text nor a known workbook format. "
            "Open it in Excel and save it as CSV or XLSX.",
        )

    warning = None
    if kind is ContainerKind.TEXT and inner_ext in EXCEL_EXTENSIONS:
        warning = f"{path.name} is named like a workbook but contains delimited text; read as text."
    elif kind not in (ContainerKind.TEXT,) and inner_ext in TEXT_EXTENSIONS:
        warning = f"{path.name} is named like a text file but is a workbook; read as a workbook."
    return Detection(kind, False, reason, warning)
