"""Typing a column despite a few values that do not fit: the rule, its evidence and its messages.

The rule. A text column that is not every-value-fits one type is typed T (integer, decimal,
boolean, or a date format) when, over every row of the file:

1. at least 95% of its non-empty values read as T (`MIN_SHARE`), and
2. the values that do not read as T take at most max(5, 1% of the column's distinct values)
   different forms (`MISFIT_FORMS_FLOOR`, `MISFIT_FORMS_SHARE`).

Each value that does not fit is then a row error ("'three' is not a number"), so the file is
invalid until the rows are fixed, left out (--max-error-rows) or the column is set to text.

Why these numbers. Typos in a hand-kept sheet are rare, well under one value in twenty; a column
where more than one value in twenty is not a number is more often genuinely mixed (sizes, notes,
codes) than a number column with typos, so it stays text and its evidence names the values
("text, because 30 of 500 values are not numbers"). At 95% a single misfit needs at least 20
values, so a three-row file with 'two' stays text rather than failing on thin evidence. Typos
take few distinct forms ('three', '12.5O', 'tbd') however many rows repeat them, while a code
column whose letter codes are a minority ('A-17', 'B-9', 'C-3' among numeric ids) has about as
many distinct misfits as letter codes: the distinct count separates the two. Five forms let a
small file hold a handful of different typos; 1% of the distinct values scales that to large
columns. Zero-padded codes such as 00123 never reach this rule: leading zeros keep a column
text (they would be lost as numbers). Null markers ('n/a', 'NULL', '-') are empty values, not
misfits (see null_markers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from app.domain.validation import ColumnType
from app.services.validation import timestamps as ts
from app.services.validation.profiling import (
    ColumnFacts,
    finite_float,
    to_boolean,
    to_integer,
)

MIN_SHARE = 0.95
MISFIT_FORMS_FLOOR = 5
MISFIT_FORMS_SHARE = 0.01
# On equal counts the stricter type wins: whole numbers are numbers too.
_RANK = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.TIMESTAMP, ColumnType.BOOLEAN)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A type most of a column's values fit, with the counts the rule judges it by."""

    type: ColumnType
    fits: int  # non-empty values that read as the type
    misfit_forms: int  # distinct values that do not
    words: str  # what a fitting value is, for the evidence: "whole numbers", "numbers", ...
    formats: tuple[ts.TimestampFormat, ...] = ()  # for dates: the formats that fit best


def allowed_forms(distinct: int) -> int:
    """How many different misfit values a typed column may have: max(5, 1% of distinct)."""
    return max(MISFIT_FORMS_FLOOR, int(distinct * MISFIT_FORMS_SHARE))


def enough(fits: int, nonnull: int) -> bool:
    """At least 95% of the non-empty values fit (integer arithmetic: exact at the boundary)."""
    return nonnull > 0 and fits * 100 >= round(MIN_SHARE * 100) * nonnull


def qualifies(candidate: Candidate, nonnull: int, distinct: int) -> bool:
    return enough(candidate.fits, nonnull) and candidate.misfit_forms <= allowed_forms(distinct)


def measured_candidates(facts: ColumnFacts) -> list[Candidate]:
    """The types the evidence pass measured on every row for this column."""
    found: list[Candidate] = []
    numbers = facts.sample_leading_zero is None and not facts.count("leading_zero")
    if numbers and facts.test_integer:
        found.append(
            Candidate(
                ColumnType.INTEGER, facts.count("int_ok"), facts.count("bad:int"), "whole numbers"
            )
        )
    if numbers and (facts.test_decimal or facts.test_integer):
        found.append(
            Candidate(
                ColumnType.DECIMAL, facts.count("float_ok"), facts.count("bad:float"), "numbers"
            )
        )
    if facts.test_boolean:
        found.append(
            Candidate(
                ColumnType.BOOLEAN,
                facts.count("bool_fit"),
                facts.count("bad:bool"),
                "true or false",
            )
        )
    for fmt in facts.formats:
        found.append(
            Candidate(
                ColumnType.TIMESTAMP,
                facts.count(f"ts_ok:{fmt.pattern}"),
                facts.count(f"bad:ts:{fmt.pattern}"),
                f"dates ({fmt.label})",
                (fmt,),
            )
        )
    return found


def sample_candidates(
    values: pl.Series, facts: ColumnFacts, decimal_comma: bool, zone: str
) -> list[Candidate]:
    """The same candidates counted on the first rows only (for the quick look before validating)."""
    v = pl.col("v")
    typed: list[tuple[ColumnType, str, tuple[ts.TimestampFormat, ...], pl.Expr]] = []
    if facts.sample_leading_zero is None:
        if facts.test_integer:
            typed.append((ColumnType.INTEGER, "whole numbers", (), to_integer(v)))
        if facts.test_integer or facts.test_decimal:
            typed.append((ColumnType.DECIMAL, "numbers", (), finite_float(v, decimal_comma)))
    if facts.test_boolean:
        typed.append((ColumnType.BOOLEAN, "true or false", (), to_boolean(v)))
    for fmt in facts.formats:
        typed.append(
            (ColumnType.TIMESTAMP, f"dates ({fmt.label})", (fmt,), ts.parse_text(v, fmt, zone))
        )
    if not typed:
        return []
    exprs: list[pl.Expr] = []
    for index, (_, _, _, value) in enumerate(typed):
        exprs += [
            value.is_not_null().sum().alias(f"fits{index}"),
            pl.when(value.is_null()).then(v).drop_nulls().n_unique().alias(f"forms{index}"),
        ]
    counts = values.to_frame("v").select(exprs).row(0)
    return [
        Candidate(kind, int(counts[2 * i]), int(counts[2 * i + 1]), words, formats)
        for i, (kind, words, formats, _) in enumerate(typed)
    ]


def choose(candidates: list[Candidate], nonnull: int, distinct: int) -> Candidate | None:
    """The qualifying type most values fit; for dates, with every format that fits as well."""
    good = [c for c in candidates if qualifies(c, nonnull, distinct)]
    if not good:
        return None
    best = max(good, key=lambda c: (c.fits, -_RANK.index(c.type)))
    if best.type is not ColumnType.TIMESTAMP:
        return best
    # Both readings of 03/04/2024 may fit equally: keep both, so the date order is asked for.
    tied = tuple(
        f for c in good if c.type is ColumnType.TIMESTAMP and c.fits == best.fits for f in c.formats
    )
    return Candidate(best.type, best.fits, best.misfit_forms, best.words, tied)


def evidence(candidate: Candidate, nonnull: int) -> str:
    """ "integer: 498 of 500 values are whole numbers; 2 do not fit" (examples are added later)."""
    misfits = nonnull - candidate.fits
    verb = "does" if misfits == 1 else "do"
    return (
        f"{candidate.type.value}: {candidate.fits:,} of {nonnull:,} values are "
        f"{candidate.words}; {misfits:,} {verb} not fit"
    )


def misfit_expr(
    facts: ColumnFacts, candidate: Candidate, decimal_comma: bool, zone: str
) -> pl.Expr:
    """True where a present value does not read as the candidate's type (as it was counted)."""
    x = pl.col(facts.name)
    if candidate.type is ColumnType.INTEGER:
        value = to_integer(x)
    elif candidate.type is ColumnType.DECIMAL:
        value = finite_float(x, decimal_comma)
    elif candidate.type is ColumnType.BOOLEAN:
        value = to_boolean(x)
    else:
        value = ts.parse_text(x, candidate.formats[0], zone)
    return x.is_not_null() & value.is_null()


def timestamp_misfit(
    facts: ColumnFacts, formats: tuple[ts.TimestampFormat, ...], zone: str
) -> pl.Expr | None:
    """For a text date column: true where a present value is no date in its (first) format."""
    if not facts.is_text or not formats:
        return None
    x = pl.col(facts.name)
    return x.is_not_null() & ts.parse_text(x, formats[0], zone).is_null()


def mismatch_message(kind: ColumnType, formats: tuple[ts.TimestampFormat, ...] = ()) -> str:
    """The row issue for a value that does not fit its column's type; {value} is filled in."""
    if kind is ColumnType.INTEGER:
        return "'{value}' is not a whole number."
    if kind is ColumnType.DECIMAL:
        return "'{value}' is not a number."
    if kind is ColumnType.BOOLEAN:
        return "'{value}' is not true or false."
    if kind is ColumnType.TIMESTAMP:
        shown = f" in the format {formats[0].label}" if formats else ""
        return f"'{{value}}' is not a date{shown}."
    return f"'{{value}}' is not a valid {kind.value}."


OVERFLOW_MESSAGE = "'{value}' does not fit a 64-bit integer (Druid's long)."
