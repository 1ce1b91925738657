"""Small ZIP-based workbooks that inflate far beyond their size, built quickly in a temp folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.reading import workbooks

_CHUNK = 8 * 1024 * 1024


def _parts(folder: Path) -> dict[str, bytes]:
    """The parts of a tiny real workbook, to wrap around the exploding member."""
    template = folder / "_template.xlsx"
    workbooks.xlsx(template, {"Sheet1": [["a"], [1]]})
    try:
        with zipfile.ZipFile(template) as source:
            return {info.filename: source.read(info) for info in source.infolist()}
    finally:
        template.unlink()


def bomb(path: Path, member: str, expanded: int, *, filler: bytes = b"\0") -> Path:
    """A workbook whose `member` (replaced or added) inflates to `expanded` bytes of `filler`.

    The member is written in chunks through ZipFile.open, so building it never holds it whole;
    zeros compress about 1000:1, so a 2 GB member is a file of about 2 MB.
    """
    chunk = (filler * (_CHUNK // len(filler) + 1))[:_CHUNK]
    parts = _parts(path.parent)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        if member == "mimetype":
            # ODS puts mimetype first; the reader looks at it to tell ODS from XLSX.
            _write(archive, member, chunk, expanded)
        for name, payload in parts.items():
            if name != member:
                archive.writestr(name, payload)
        if member != "mimetype":
            _write(archive, member, chunk, expanded)
    return path


def _write(archive: zipfile.ZipFile, name: str, chunk: bytes, expanded: int) -> None:
    with archive.open(name, "w", force_zip64=True) as out:
        written = 0
        while written < expanded:
            piece = chunk[: expanded - written]
            out.write(piece)
            written += len(piece)


def sheet_rows(rows: int) -> bytes:
    """Real-looking sheet rows (numbers, every cell addressed), about 60 bytes a row."""
    return b"".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r % 97}</v></c></row>'.encode()
        for r in range(2, rows + 2)
    )
