"""Column facts: a type guessed from the first rows, then checked (and explained) on every row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from app.domain.validation import CellValue, ColumnType
from app.services.validation import timestamps as ts
from app.services.validation.clipping import clip
from app.services.validation.null_markers import NULL_TOKENS, marker_column
from app.services.validation.scan import Agg, counts_of, distinct_of, max_of, min_of, sum_of
from app.services.validation.timestamps import TimestampFormat

SAMPLE_ROWS = 2000
SEP = "\x1f"
# A type stays under test in the evidence pass when at least this share of sampled values fit
# it, so the column can be typed despite a few misfits (see misfits.py), or the report can say
# "text, because 3 values are not numbers" instead of just "text".
_CANDIDATE_SHARE = 0.5
_BOOL_WORDS = ("true", "false")
_EXCEL_SERIAL_RANGE = (1.0, 2_958_465.0)  # 1900-01-01 .. 9999-12-31


def normalise_text(column: str, strip: bool = True) -> pl.Expr:
    """Turn blank cells and common null markers into nulls, trimming spaces when asked.

    Trimming is the costliest step of the whole pass, so the first pass skips it and only counts
    padded values (see `padded`); a file that has any is normalised again with trimming.
    """
    value = pl.col(column).str.strip_chars() if strip else pl.col(column)
    return pl.when(value.is_in(NULL_TOKENS)).then(None).otherwise(value).alias(column)


def padded(column: str) -> pl.Expr:
    """Values with leading or trailing whitespace, which the unstripped pass would misjudge."""
    x = pl.col(column)
    return (
        x.str.starts_with(" ")
        | x.str.ends_with(" ")
        | x.str.starts_with("\t")
        | x.str.ends_with("\t")
    )


# "1.234,50", "-0,75", "12": points only as thousands separators, so "31.01.2024" is no number.
_DECIMAL_COMMA_NUMBER = r"^[-+]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"


def to_float(expr: pl.Expr, decimal_comma: bool) -> pl.Expr:
    if decimal_comma:
        plain = expr.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        converted = plain.cast(pl.Float64, strict=False)
        return pl.when(expr.str.contains(_DECIMAL_COMMA_NUMBER)).then(converted).otherwise(None)
    return expr.cast(pl.Float64, strict=False)


def finite_float(expr: pl.Expr, decimal_comma: bool) -> pl.Expr:
    value = to_float(expr, decimal_comma)
    return pl.when(value.is_finite()).then(value).otherwise(None)


def to_integer(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_integer(strict=False)


def to_boolean(expr: pl.Expr) -> pl.Expr:
    lowered = expr.str.to_lowercase()
    return (
        pl.when(lowered.is_in(("true", "yes", "y", "1")))
        .then(True)
        .when(lowered.is_in(("false", "no", "n", "0")))
        .then(False)
        .otherwise(None)
    )


def derived_name(column: str, kind: str) -> str:
    return f"{column}{SEP}{kind}"


@dataclass
class ColumnFacts:
    """What the sample suggested and the passes measured for one column."""

    name: str
    dtype: pl.DataType
    speculative: ColumnType = ColumnType.TEXT
    spec_formats: list[TimestampFormat] = field(default_factory=list)
    test_integer: bool = False
    test_decimal: bool = False
    test_boolean: bool = False
    test_serial: bool = False
    formats: list[TimestampFormat] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    evidence_measured: bool = False
    sample_leading_zero: str | None = None  # an example code such as '00123' from the sample
    # For day/month formats: a sampled value only its own order can read, e.g. '13/04/2024'.
    order_examples: dict[str, str] = field(default_factory=dict)

    @property
    def is_text(self) -> bool:
        return self.dtype == pl.String

    def get(self, key: str) -> Any:
        return self.measured.get(f"{self.name}{SEP}{key}")

    def count(self, key: str) -> int:
        value = self.get(key)
        return int(value) if value is not None else 0

    def speculation_holds(self) -> bool:
        """True when every value fits the type the sample suggested."""
        if not self.is_text:
            return True
        nonnull = self.count("nonnull")
        kind = self.speculative
        if kind is ColumnType.INTEGER:
            return self.count("int_ok") == nonnull and self.count("leading_zero") == 0
        if kind is ColumnType.DECIMAL:
            return self.count("float_ok") == nonnull
        if kind is ColumnType.BOOLEAN:
            return self.count("bool_ok") == nonnull
        if kind is ColumnType.TIMESTAMP:
            return any(self.count(f"ts_ok:{f.pattern}") == nonnull for f in self.spec_formats)
        return True

    def needs_evidence(self) -> bool:
        """Whether the report needs the slower pass that tests every plausible type."""
        if not self.is_text:
            return False
        if self.speculative is not ColumnType.TEXT:
            return not self.speculation_holds()
        if self.sample_leading_zero is not None:
            return False
        return self.test_integer or self.test_decimal or self.test_boolean or bool(self.formats)


def _share(ok: int, total: int) -> float:
    return ok / total if total else 0.0


def _speculate(item: ColumnFacts, values: pl.Series, decimal_comma: bool, zone: str) -> None:
    total = len(values)
    frame = values.to_frame("v")
    v = pl.col("v")
    int_ok, float_ok, bool_ok, leading, digits = frame.select(
        to_integer(v).is_not_null().sum().alias("int"),
        finite_float(v, decimal_comma).is_not_null().sum().alias("float"),
        v.str.to_lowercase().is_in(_BOOL_WORDS).sum().alias("bool"),
        (to_integer(v).is_not_null() & v.str.starts_with("0") & (v.str.len_bytes() > 1))
        .sum()
        .alias("leading"),
        v.str.contains(r"^[-+]?\d+$").sum().alias("digits"),
    ).row(0)
    # Plain numbers are never dates in the formats we know: skip ~30 parses per numeric column.
    parsed = (
        (0,) * len(ts.FORMATS)
        if float_ok == total
        else frame.select(
            [
                ts.parse_text(v, f, zone).is_not_null().sum().alias(str(i))
                for i, f in enumerate(ts.FORMATS)
            ]
        ).row(0)
    )
    # Digits that overflow a 64-bit integer still read as integers, so the overflow is reported.
    item.test_integer = _share(int_ok, total) >= _CANDIDATE_SHARE or digits == total
    item.test_decimal = _share(float_ok, total) >= _CANDIDATE_SHARE
    item.test_boolean = _share(bool_ok, total) >= _CANDIDATE_SHARE
    item.formats = [
        f
        for f, ok in zip(ts.FORMATS, parsed, strict=True)
        if _share(int(ok), total) >= _CANDIDATE_SHARE
    ]
    full = [f for f, ok in zip(ts.FORMATS, parsed, strict=True) if int(ok) == total]
    if leading:
        item.sample_leading_zero = str(
            values.filter(values.str.starts_with("0") & (values.str.len_bytes() > 1))[0]
        )
    if (total in (int_ok, digits)) and not leading:
        item.speculative = ColumnType.INTEGER
    elif float_ok == total and not leading:
        item.speculative = ColumnType.DECIMAL
    elif bool_ok == total:
        item.speculative = ColumnType.BOOLEAN
    elif full:
        first = full[0]
        item.speculative = ColumnType.TIMESTAMP
        item.spec_formats = [first]
        if first.twin and ts.BY_PATTERN[first.twin] in full:
            item.spec_formats.append(ts.BY_PATTERN[first.twin])
        elif first.twin:
            twin = ts.BY_PATTERN[first.twin]
            only = values.filter(frame.select(ts.parse_text(v, twin, zone).is_null()).to_series())
            if len(only):
                item.order_examples[first.pattern] = str(only[0])


def plan_candidates(
    sample: pl.DataFrame, columns: tuple[str, ...], decimal_comma: bool, zone: str
) -> list[ColumnFacts]:
    """Guess each column's type from the first rows; every row then checks the guess."""
    facts: list[ColumnFacts] = []
    for name in columns:
        dtype = sample.schema[name]
        item = ColumnFacts(name, dtype)
        facts.append(item)
        series = sample.get_column(name)
        if dtype == pl.String:
            values = series.drop_nulls()
            if len(values) == 0:
                # Nothing to learn from the sample: the evidence pass tests the common types.
                item.test_integer = item.test_decimal = True
                item.formats = list(ts.FORMATS) if ts.looks_like_time_name(name) else []
                item.speculative = ColumnType.TEXT
                continue
            _speculate(item, values, decimal_comma, zone)
        elif dtype.is_float() and ts.looks_like_time_name(name):
            non_null = series.drop_nulls()
            low, high = _EXCEL_SERIAL_RANGE
            item.test_serial = len(non_null) > 0 and bool(
                ((non_null >= low) & (non_null <= high)).all()
            )
    return facts


@dataclass
class PassPlan:
    derived: list[pl.Expr] = field(default_factory=list)
    aggs: list[Agg] = field(default_factory=list)


def _text_checks(
    plan: PassPlan,
    item: ColumnFacts,
    decimal_comma: bool,
    zone: str,
    *,
    integer: bool,
    decimal: bool,
    boolean: bool,
    formats: list[TimestampFormat],
    evidence: bool,
) -> None:
    name = item.name
    x = pl.col(name)

    def key(suffix: str) -> str:
        return f"{name}{SEP}{suffix}"

    def misfits(suffix: str, typed: pl.Expr) -> None:
        # Distinct values that do not fit a type: a few typos, or another vocabulary (codes)?
        # Only the evidence pass asks, and the sketch sees only the misfits, so it stays cheap.
        if evidence:
            plan.aggs.append(distinct_of(key(f"bad:{suffix}"), pl.when(typed.is_null()).then(x)))

    if integer:
        plan.derived.append(to_integer(x).alias(derived_name(name, "int")))
        as_int = pl.col(derived_name(name, "int"))
        plan.aggs += [
            sum_of(key("int_ok"), as_int.is_not_null()),
            min_of(key("int_min"), as_int),
            max_of(key("int_max"), as_int),
            sum_of(
                key("leading_zero"),
                as_int.is_not_null() & x.str.starts_with("0") & (x.str.len_bytes() > 1),
            ),
        ]
        misfits("int", as_int)
    if decimal or (integer and evidence):
        plan.derived.append(finite_float(x, decimal_comma).alias(derived_name(name, "float")))
        as_float = pl.col(derived_name(name, "float"))
        plan.aggs += [
            sum_of(key("float_ok"), as_float.is_not_null()),
            min_of(key("float_min"), as_float),
            max_of(key("float_max"), as_float),
        ]
        misfits("float", as_float)
        if integer:
            too_big = as_float.abs() >= 2.0**63
            plan.aggs.append(
                sum_of(key("overflow"), pl.col(derived_name(name, "int")).is_null() & too_big)
            )
    if boolean:
        plan.aggs.append(sum_of(key("bool_ok"), x.str.to_lowercase().is_in(_BOOL_WORDS)))
        if evidence:
            # Typed booleans read yes/no/1/0 too: count what the staged value would accept.
            as_bool = to_boolean(x)
            plan.aggs.append(sum_of(key("bool_fit"), as_bool.is_not_null()))
            misfits("bool", as_bool)
    patterns = {f.pattern for f in formats}
    for fmt in formats:
        column = derived_name(name, f"ts:{fmt.pattern}")
        plan.derived.append(ts.parse_text(x, fmt, zone).alias(column))
        parsed = pl.col(column)
        plan.aggs += [
            sum_of(key(f"ts_ok:{fmt.pattern}"), parsed.is_not_null()),
            min_of(key(f"ts_min:{fmt.pattern}"), parsed),
            max_of(key(f"ts_max:{fmt.pattern}"), parsed),
        ]
        misfits(f"ts:{fmt.pattern}", parsed)
        if fmt.twin and fmt.twin in patterns:
            twin = pl.col(derived_name(name, f"ts:{fmt.twin}"))
            plan.aggs.append(
                sum_of(key(f"ts_only:{fmt.pattern}"), parsed.is_not_null() & twin.is_null())
            )
    if not evidence and not (integer or decimal):
        plan.aggs += [min_of(key("text_min"), x), max_of(key("text_max"), x)]


def fast_pass(
    facts: list[ColumnFacts], decimal_comma: bool, zone: str, check_padding: bool = False
) -> PassPlan:
    """Check each column's guessed type on every row, plus the profile every column gets.

    The frame must carry the null-marker columns of its text columns (`with_marker_columns`).
    """
    plan = PassPlan()
    for item in facts:
        name = item.name
        x = pl.col(name)

        def key(suffix: str, name: str = name) -> str:
            return f"{name}{SEP}{suffix}"

        plan.aggs += [sum_of(key("nonnull"), x.is_not_null()), distinct_of(key("distinct"), x)]
        if item.is_text:
            plan.aggs += [
                max_of(key("max_bytes"), x.str.len_bytes()),
                counts_of(key("markers"), pl.col(marker_column(name))),
            ]
            # Padding in a number or date breaks its type check and is caught that way; only
            # text needs the explicit (and costly) look at the first and last characters.
            if check_padding and item.speculative is ColumnType.TEXT:
                plan.aggs.append(sum_of(key("padded"), padded(name)))
            kind = item.speculative
            _text_checks(
                plan,
                item,
                decimal_comma,
                zone,
                integer=kind is ColumnType.INTEGER,
                decimal=kind is ColumnType.DECIMAL,
                boolean=kind is ColumnType.BOOLEAN,
                formats=item.spec_formats if kind is ColumnType.TIMESTAMP else [],
                evidence=False,
            )
        elif item.dtype.is_numeric():
            plan.aggs += [min_of(key("num_min"), x), max_of(key("num_max"), x)]
            if item.dtype.is_float():
                whole = x.is_not_null() & (x == x.floor()) & (x.abs() < 2.0**53)
                plan.aggs.append(sum_of(key("whole"), whole))
        elif isinstance(item.dtype, (pl.Datetime, pl.Date)):
            native = ts.native_to_utc(x, item.dtype, zone)
            plan.aggs += [min_of(key("native_min"), native), max_of(key("native_max"), native)]
    return plan


def evidence_pass(facts: list[ColumnFacts], decimal_comma: bool, zone: str) -> PassPlan:
    """For columns whose guess failed: test every plausible type so the report can explain."""
    plan = PassPlan()
    for item in facts:
        _text_checks(
            plan,
            item,
            decimal_comma,
            zone,
            integer=item.test_integer,
            decimal=item.test_decimal,
            boolean=item.test_boolean,
            formats=item.formats,
            evidence=True,
        )
        item.evidence_measured = True
    return plan


def cell_value(value: Any) -> CellValue:
    """A column's minimum or maximum as the report shows it (long text cut)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return clip(value)
    if value is None or isinstance(value, (int, float, bool, datetime)):
        return value
    return clip(str(value))
