"""Null markers ('n/a', 'NULL', '-'...): read as empty cells, counted, and reported per column."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from app.domain.validation import NullMarkerCount, Severity, ValidationIssue

# Text that spreadsheets and exports write for "no value". Each is read as an empty cell, so a
# number or date column stays typed, and each is reported with its count, because a marker can
# also be data ('NA' is Namibia's country code): the warning lets the user notice that.
NULL_MARKERS = ("n/a", "N/A", "NA", "#N/A", "-", "NULL", "null", "None")
# Blank cells are empty without a word: the profile's null count already shows them.
NULL_TOKENS = ("", *NULL_MARKERS)
_SEP = "\x1f"


def marker_column(column: str) -> str:
    """The scan-only column holding a value that is a null marker (null otherwise)."""
    return f"{column}{_SEP}marker"


def with_marker_columns(
    frame: pl.LazyFrame, columns: Iterable[str], strip: Iterable[str] = ()
) -> pl.LazyFrame:
    """Keep each marker as written, before normalisation turns it into a null.

    Only the pass that profiles columns reads these columns; every later pass uses the frame
    without them, so they never reach the exported bad rows or the staging file.
    """
    stripped = set(strip)
    markers = []
    for name in columns:
        value = pl.col(name).str.strip_chars() if name in stripped else pl.col(name)
        markers.append(pl.when(value.is_in(NULL_MARKERS)).then(value).alias(marker_column(name)))
    return frame.with_columns(markers) if markers else frame


def marker_counts(counts: Mapping[Any, int] | None) -> tuple[NullMarkerCount, ...]:
    """The counts one column's scan merged, most frequent first, then in marker order."""
    found = [NullMarkerCount(str(marker), int(n)) for marker, n in (counts or {}).items() if n]
    order = {marker: index for index, marker in enumerate(NULL_MARKERS)}
    return tuple(sorted(found, key=lambda m: (-m.count, order.get(m.marker, len(order)))))


def marker_issues(column: str, counts: tuple[NullMarkerCount, ...]) -> list[ValidationIssue]:
    """One warning per marker: "7 values 'n/a' in 'amount' read as empty"."""
    return [
        ValidationIssue(
            Severity.WARNING,
            "null_marker",
            f"{item.count:,} {'value' if item.count == 1 else 'values'} '{item.marker}' in "
            f"'{column}' read as empty.",
            column=column,
            value=item.marker,
        )
        for item in counts
    ]
