"""Where the table sits in a sheet: title rows above the header, totals and notes below the data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

# How many rows from the top are searched for the header; titles are a few lines, not pages.
HEADER_PROBE_ROWS = 30
# How many rows from the bottom may be totals or notes; more than this is data, not a footer.
MAX_FOOTER_ROWS = 10

_TOTAL_LABEL = re.compile(
    r"^\s*(grand\s+total|sub\s*-?\s*total|totals?|sum|summe|gesamt|total\s+général|totaal)\b",
    re.IGNORECASE,
)


def _is_filled(value: object) -> bool:
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


def fill_count(row: Sequence[object]) -> int:
    return sum(1 for value in row if _is_filled(value))


def _quote(value: object, limit: int = 40) -> str:
    text = str(value).strip()
    return f"'{text[: limit - 1]}…'" if len(text) > limit else f"'{text}'"


@dataclass(frozen=True, slots=True)
class HeaderGuess:
    index: int  # 0-based position within the probed rows
    reason: str


def find_header(rows: Sequence[Sequence[object]]) -> HeaderGuess:
    """Skip blank rows and title rows (one or two cells on a much wider table) above the header.

    `rows` are the first rows of the sheet as written, row 1 first.
    """
    fills = [fill_count(row) for row in rows]
    widest = max(fills, default=0)
    if widest == 0:
        return HeaderGuess(0, "the sheet has no values near the top; row 1 taken as the header")
    skipped: list[int] = []
    for index, fill in enumerate(fills):
        is_title = widest >= 2 and 0 < fill <= 2 and fill < max(2, widest / 2)
        if fill > 0 and not is_title:
            break
        skipped.append(index)
    else:  # pragma: no cover - the widest row always stops the loop
        return HeaderGuess(0, "row 1 taken as the header")
    header = len(skipped)
    if header == 0:
        return HeaderGuess(0, "row 1 holds the column names")
    titles = [_quote(next(v for v in rows[i] if _is_filled(v))) for i in skipped if fills[i] > 0]
    if titles:
        above = f"rows 1-{header}" if header > 1 else "row 1"
        reason = (
            f"{above} above the table look like a title ({', '.join(titles[:2])}), not column "
            f"names; the column names are on row {header + 1}"
        )
    else:
        reason = f"the first {header} rows are empty; the column names are on row {header + 1}"
    return HeaderGuess(header, reason)


@dataclass(frozen=True, slots=True)
class FooterRow:
    offset: int  # 0-based data-row index
    kind: str  # "total", "note" or "blank"
    text: str


def find_footer(
    tail: Sequence[Sequence[object]], first_offset: int, typical_fill: float
) -> list[FooterRow]:
    """Trailing totals, notes and blank rows after the data, scanning upwards from the end.

    `tail` holds the last data rows in order; `first_offset` is the data index of tail[0].
    A note is a lone text cell below a table whose rows usually fill three or more cells.
    """
    found: list[FooterRow] = []
    for back, row in enumerate(reversed(tail)):
        offset = first_offset + len(tail) - 1 - back
        filled = [value for value in row if _is_filled(value)]
        if not filled:
            found.append(FooterRow(offset, "blank", ""))
            continue
        first = filled[0]
        if isinstance(first, str) and _TOTAL_LABEL.match(first):
            found.append(FooterRow(offset, "total", first.strip()))
            continue
        if len(filled) == 1 and isinstance(first, str) and typical_fill >= 3:
            found.append(FooterRow(offset, "note", first.strip()))
            continue
        break
    # Blank rows alone are harmless padding; they join the footer only around a total or note.
    if all(item.kind == "blank" for item in found):
        return []
    if len(found) >= len(tail) or len(found) > MAX_FOOTER_ROWS:
        return []  # the whole sample looks like "footer": it is the data, leave it alone
    return sorted(found, key=lambda item: item.offset)


def typical_fill(rows: Sequence[Sequence[object]]) -> float:
    fills = [fill_count(row) for row in rows]
    return float(median(fills)) if fills else 0.0


def describe_footer(rows: Sequence[FooterRow], first_data_row: int) -> str:
    parts: list[str] = []
    for item in rows:
        excel_row = first_data_row + item.offset
        if item.kind == "total":
            parts.append(f"row {excel_row} is a total line ({_quote(item.text)})")
        elif item.kind == "note":
            parts.append(f"row {excel_row} is a note ({_quote(item.text)})")
        else:
            parts.append(f"row {excel_row} is empty")
    return "; ".join(parts)
