"""How far a worksheet's cells reach, read from its XML while it is inflated anyway.

A spreadsheet reader holds a sheet as one rectangle from A1 to its farthest cell. A 5 KB
workbook with one stray cell at XFD1048576 is a rectangle of 17 billion cells: the reader's
allocation fails and aborts the whole process (a native abort, which no handler can catch). So
the farthest cell is found first, and a sheet whose rectangle passes MAX_SHEET_CELLS is refused
with a sentence instead.
"""

from __future__ import annotations

import re
from operator import itemgetter

# About 32 bytes a cell in the reader: 30 million cells is about 1 GB.
MAX_SHEET_CELLS = 30_000_000
_CELL_REF = re.compile(rb'<c[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"')
_CARRY = 64  # bytes kept from a chunk's end, so a reference split between chunks is still seen
_LETTERS, _DIGITS = itemgetter(0), itemgetter(1)


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class SheetExtent:
    """Fed a sheet's XML chunk by chunk; keeps its farthest row and column."""

    def __init__(self) -> None:
        self.rows = 0
        self.columns = 0
        self._tail = b""

    def __call__(self, chunk: bytes) -> None:
        text = self._tail + chunk
        self._tail = text[-_CARRY:]
        refs = _CELL_REF.findall(text)
        if not refs:
            return
        # A chunk holds thousands of cells but few distinct columns and rows: reduce to those
        # in C (set, map) before any Python-level arithmetic (a loop per cell cost the xlsx
        # path more than the reader itself).
        self.rows = max(self.rows, *map(int, set(map(_DIGITS, refs))))
        self.columns = max(self.columns, *map(column_number, set(map(_LETTERS, refs))))

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def far_corner(self) -> str:
        return f"{column_letters(self.columns)}{self.rows}"
