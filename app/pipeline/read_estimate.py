"""How far a read of a text file has got, estimated from the rows read: for the CLI and the window.

The reader reports rows, not bytes. The file's first MiB gives the average bytes a row takes;
with the file's size that gives megabytes read and, while the text's size is known or can be
estimated, the fraction done. The stage command's meter and the validate step (which reports
the fraction to this desk's window and to the store) both use this one estimate.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_HEAD_BYTES = 1 << 20
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
# An estimate is never "done": the step reports 1.0 itself when the read ends.
_MOST = 0.99


@dataclass(frozen=True, slots=True)
class ReadEstimate:
    """The average bytes of text per row and the whole text's size (None: not known)."""

    row_bytes: float
    text_bytes: float | None

    def bytes_at(self, rows: int) -> float:
        """The text read by the time `rows` rows are (header included in the average)."""
        return rows * self.row_bytes

    def fraction_at(self, rows: int) -> float | None:
        """The share of the file read, below 1.0 until the reader says it is done."""
        if not self.text_bytes:
            return None
        return min(_MOST, self.bytes_at(rows) / self.text_bytes)


def estimate_read(path: Path) -> ReadEstimate | None:
    """The estimate for a delimited text file, plain or gzipped; None for anything else.

    A gzipped file's text size is its size scaled by the first MiB's compression. Binary files
    (Excel workbooks, UTF-16 text) have no useful line length and get None.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            head, used = _inflated_head(raw) if gzipped else _plain_head(raw)
    except (OSError, EOFError, zlib.error):
        return None
    lines = head.count(b"\n")
    if not lines or b"\x00" in head:
        return None
    text_bytes = size * len(head) / used if used else None
    return ReadEstimate(len(head) / lines, text_bytes)


def _plain_head(raw: IO[bytes]) -> tuple[bytes, int]:
    head = raw.read(_HEAD_BYTES)
    return head, len(head)


def _inflated_head(raw: IO[bytes]) -> tuple[bytes, int]:
    """The first MiB of text and how many bytes of the file it took."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    fed = 0
    while len(out) < _HEAD_BYTES and not inflater.eof:
        chunk = raw.read(_CHUNK)
        if not chunk:
            break
        fed += len(chunk)
        out += inflater.decompress(chunk, _HEAD_BYTES - len(out))
        if inflater.unconsumed_tail:
            break  # the MiB is full; the rest of this chunk was not needed
    used = fed - len(inflater.unconsumed_tail) - len(inflater.unused_data)
    return bytes(out), used
