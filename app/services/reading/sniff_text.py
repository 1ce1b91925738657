"""Guess a text file's dialect from a sample: encoding, delimiter, header, footer, decimal comma."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from app.domain.validation import SniffDecision
from app.services.reading.excel_layout import HEADER_PROBE_ROWS, find_header

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_BYTES = 1 << 20
_TOTAL_WORDS = re.compile(
    r"^\s*(grand\s+total|totals?|sum|subtotal|summe|gesamt|total\s+general|totaal)\b",
    re.IGNORECASE,
)
_NOTE_WORDS = re.compile(r"^\s*(notes?|source|remarks?|comments?|\*|disclaimer)\b", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DECIMAL_POINT = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)\.\d+$")
_NUMBERISH = re.compile(r"^[-+]?[\d.,]+%?$")


def only_cr_line_ends(text: str) -> bool:
    """Old Mac line endings (Excel for Mac's "CSV (Macintosh)"): CR and never LF."""
    return "\r" in text and "\n" not in text


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    codec: str  # Python codec name
    polars_encoding: str | None  # "utf8" when Polars can read the bytes as they are
    bom_bytes: int
    decision: SniffDecision


def sniff_encoding(head: bytes, forced: str | None = None) -> EncodingGuess:
    """BOM first; then strict UTF-8 over the sample; otherwise Windows-1252 or Latin-1."""
    if forced:
        codec = codecs.lookup(forced).name
        native = "utf8" if codec in ("utf-8", "utf-8-sig") else None
        return EncodingGuess(
            codec, native, 0, SniffDecision("encoding", codec, "chosen by the user")
        )
    if head.startswith(codecs.BOM_UTF8):
        return EncodingGuess(
            "utf-8-sig",
            "utf8",
            3,
            SniffDecision("encoding", "utf-8-sig", "UTF-8 byte-order mark at the start"),
        )
    for bom, codec, label in (
        (codecs.BOM_UTF16_LE, "utf-16-le", "little-endian"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "big-endian"),
    ):
        if head.startswith(bom):
            return EncodingGuess(
                codec,
                None,
                2,
                SniffDecision("encoding", "utf-16", f"UTF-16 {label} byte-order mark at the start"),
            )
    try:
        # A multi-byte character may be cut at the end of the sample: decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        bad = head[exc.start : exc.start + 1].hex()
        undefined_in_cp1252 = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
        codec = "latin-1" if any(b in undefined_in_cp1252 for b in head) else "cp1252"
        label = "Latin-1" if codec == "latin-1" else "Windows-1252"
        return EncodingGuess(
            codec,
            None,
            0,
            SniffDecision(
                "encoding",
                codec,
                f"not valid UTF-8 (byte 0x{bad} at offset {exc.start}); read as {label}",
            ),
        )
    non_ascii = sum(1 for b in head if b >= 0x80)
    reason = (
        "valid UTF-8 throughout the sample"
        if non_ascii
        else "plain ASCII in the sample (read as UTF-8)"
    )
    return EncodingGuess("utf-8", "utf8", 0, SniffDecision("encoding", "utf-8", reason))


@dataclass(frozen=True, slots=True)
class Dialect:
    delimiter: str
    header_index: int  # 0-based record index of the header within the sample
    field_count: int
    quoted_newlines: bool
    decimal_comma: bool
    header: list[str]
    footer_records: int
    ragged_records: tuple[int, ...]  # 0-based record indexes in the sample with a wrong width
    decisions: tuple[SniffDecision, ...]
    line_end: str = "\n"  # "\r" for old Mac files; "\n" also covers CRLF


def _records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows: list[list[str]] = []
    # A malformed quote late in the sample ends the sample there; what was read still counts.
    with contextlib.suppress(csv.Error):
        rows.extend(reader)
    return rows


def _choose_delimiter(
    text: str, forced: str | None, extension: str
) -> tuple[str, list[list[str]], SniffDecision]:
    if forced:
        return (
            forced,
            _records(text, forced),
            SniffDecision("delimiter", forced, "chosen by the user"),
        )
    best: tuple[float, int, str, list[list[str]]] | None = None
    for candidate in DELIMITERS:
        records = [r for r in _records(text, candidate) if any(c.strip() for c in r)]
        if not records:
            continue
        widths = Counter(len(r) for r in records)
        width, hits = widths.most_common(1)[0]
        if width < 2:
            continue
        consistency = hits / len(records)
        # A .tsv hint breaks ties; consistency first, then more columns.
        bonus = 0.01 if (candidate == "\t" and extension in (".tsv", ".tab")) else 0.0
        score = consistency + bonus
        if best is None or (score, width) > (best[0], best[1]):
            best = (score, width, candidate, records)
    if best is None:
        return (
            ",",
            _records(text, ","),
            SniffDecision(
                "delimiter", ",", "no delimiter splits the lines; read as a single column"
            ),
        )
    score, width, chosen, records = best
    hits = sum(1 for r in records if len(r) == width)
    return (
        chosen,
        _records(text, chosen),
        SniffDecision(
            "delimiter",
            chosen,
            f"{delimiter_name(chosen)} splits {hits} of the first {len(records)} records "
            f"into {width} fields",
        ),
    )


def _is_header_like(record: list[str]) -> bool:
    filled = [c for c in record if c.strip()]
    if not filled:
        return False
    numeric = sum(1 for c in filled if _NUMBERISH.match(c.strip()))
    return numeric <= len(filled) // 3


def _is_footer(record: list[str], width: int) -> bool:
    filled = [c for c in record if c.strip()]
    if not filled:
        return True
    first = record[0] if record else ""
    if _TOTAL_WORDS.match(first) or _NOTE_WORDS.match(first):
        return True
    # A lone free-text cell in a wide table reads as a note, not a data row.
    return width >= 3 and len(filled) == 1 and len(record) < width and not _NUMBERISH.match(first)


def sniff_dialect(
    text: str,
    *,
    complete: bool,
    extension: str,
    forced_delimiter: str | None = None,
    forced_header_row: int | None = None,
    tail_text: str | None = None,
) -> Dialect:
    """Decide the dialect from decoded sample text (`complete` when it is the whole file)."""
    line_end = "\r" if only_cr_line_ends(text) else "\n"
    if not complete:
        # Drop the last, probably cut, line so it does not look ragged.
        cut = text.rfind(line_end)
        text = text[: cut + 1] if cut > 0 else text
    delimiter, records, delimiter_decision = _choose_delimiter(text, forced_delimiter, extension)
    decisions = [delimiter_decision]
    nonblank = [(i, r) for i, r in enumerate(records) if any(c.strip() for c in r)]
    widths = Counter(len(r) for _, r in nonblank)
    width = widths.most_common(1)[0][0] if widths else 0

    if forced_header_row is not None:
        header_index = max(0, forced_header_row - 1)
        decisions.append(SniffDecision("header_row", str(forced_header_row), "chosen by the user"))
    else:
        header_index = 0
        for index, record in nonblank:
            if len(record) == width and _is_header_like(record):
                header_index = index
                break
        if header_index == 0:
            reason = "the first record names the columns"
        else:
            reason = (
                f"records 1-{header_index} look like a title (fewer fields or text only); "
                f"the header is record {header_index + 1}"
            )
        # Title lines padded with delimiters (`Report,,,,`) have the table's width; the
        # workbook rule (one or two filled cells on a wider table) sees through them.
        titled = find_header(records[:HEADER_PROBE_ROWS])
        if titled.index > header_index:
            header_index = titled.index
            titles = [
                next(c for c in r if c.strip())
                for r in records[:header_index]
                if any(c.strip() for c in r)
            ]
            quoted = ", ".join(f"'{t.strip()[:40]}'" for t in titles[:2])
            reason = (
                f"lines 1-{header_index} look like a title ({quoted}), not column names; "
                f"the header is line {header_index + 1}"
            )
        decisions.append(SniffDecision("header_row", str(header_index + 1), reason))
    header = records[header_index] if header_index < len(records) else []
    if header and len(header) != width:
        width = max(width, len(header))

    body = records[header_index + 1 :]
    line_count = text.count(line_end) + (0 if text.endswith(line_end) else 1)
    quoted_newlines = len(records) < line_count
    if quoted_newlines:
        decisions.append(
            SniffDecision(
                "quoted_newlines",
                "yes",
                "some quoted fields span several lines; rows are numbered by record, as Excel does",
            )
        )

    tail_records = body if complete or tail_text is None else _records(tail_text, delimiter)
    footer = 0
    for record in reversed(tail_records):
        if not record or not any(c.strip() for c in record):
            continue
        if _is_footer(record, width):
            footer += 1
        else:
            break
    if footer:
        decisions.append(
            SniffDecision(
                "footer_rows",
                str(footer),
                f"the last {footer} non-blank row(s) look like totals or notes and are left out",
            )
        )

    ragged = tuple(
        i for i, r in enumerate(body) if r and any(c.strip() for c in r) and len(r) != len(header)
    )
    decimal_comma, reason = _sniff_decimal_comma(body[:2000], delimiter)
    decisions.append(SniffDecision("decimal_comma", "yes" if decimal_comma else "no", reason))
    if line_end == "\r":
        decisions.append(
            SniffDecision("line_endings", "CR", "lines end with CR only (old Mac format)")
        )
    return Dialect(
        delimiter=delimiter,
        header_index=header_index,
        field_count=len(header),
        quoted_newlines=quoted_newlines,
        decimal_comma=decimal_comma,
        header=header,
        footer_records=footer,
        ragged_records=ragged,
        decisions=tuple(decisions),
        line_end=line_end,
    )


def _sniff_decimal_comma(records: list[list[str]], delimiter: str) -> tuple[bool, str]:
    if delimiter == ",":
        return False, "the delimiter is a comma, so commas cannot be decimal marks"
    comma = point = 0
    example = ""
    for record in records:
        for cell in record:
            value = cell.strip()
            if _DECIMAL_COMMA.match(value) and not _DECIMAL_POINT.match(value):
                comma += 1
                example = example or value
            elif _DECIMAL_POINT.match(value):
                point += 1
    if comma > point:
        return True, f"{comma} values such as '{example}' use a comma before the decimals"
    if point:
        return False, f"{point} values use a point before the decimals"
    return False, "no decimal numbers in the sample"
