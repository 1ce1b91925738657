"""Turn measured facts into a column type with evidence, and the expression that produces it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from app.domain.validation import ColumnProfile, ColumnType, ValueExample
from app.services.reading.source import ROW_COLUMN
from app.services.validation import misfits as rule
from app.services.validation import timestamps as ts
from app.services.validation.null_markers import marker_counts
from app.services.validation.output import convert
from app.services.validation.profiling import (
    ColumnFacts,
    cell_value,
    finite_float,
)

EXAMPLES_PER_COLUMN = 3


@dataclass(frozen=True, slots=True)
class TypedColumn:
    """A column's decided type, its profile, and how to compute typed values from raw ones."""

    profile: ColumnProfile
    value: pl.Expr  # typed value; null where the raw value does not fit
    misfit: pl.Expr | None  # true where a raw value is present but does not fit the type
    formats: tuple[ts.TimestampFormat, ...] = ()  # timestamp formats that parse every value
    # True where a value breaks the column's type, or (for text that is almost another type)
    # that type: the first such rows become the evidence's examples.
    probe: pl.Expr | None = None
    mismatch: str = ""  # the row issue for a misfit, with a {value} slot


def _n(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True, slots=True)
class _Inferred:
    """What the measured facts say about a column, before any template override."""

    kind: ColumnType
    evidence: str
    misfits: int = 0  # values that do not fit `kind`: row errors
    disagreeing: int = 0  # values that do not fit the type the evidence names
    probe: pl.Expr | None = None
    formats: tuple[ts.TimestampFormat, ...] = ()
    mismatch: str = ""


def _can_misfit(facts: ColumnFacts, kind: ColumnType) -> bool:
    """Whether a present value can fail to convert (numbers to decimal, TRUE/FALSE cannot)."""
    if kind is ColumnType.TEXT:
        return False
    if facts.is_text:
        return True
    if kind is ColumnType.DECIMAL and facts.dtype.is_numeric():
        return False
    return not (kind is ColumnType.BOOLEAN and facts.dtype == pl.Boolean)


def _typed_expr(
    facts: ColumnFacts,
    kind: ColumnType,
    decimal_comma: bool,
    formats: tuple[ts.TimestampFormat, ...],
    zone: str,
) -> tuple[pl.Expr, pl.Expr | None]:
    if kind is ColumnType.TIMESTAMP:
        # The value is parsed by the timestamp step; a misfit is a value no format reads.
        return pl.col(facts.name), rule.timestamp_misfit(facts, formats, zone)
    value = convert(facts.name, facts, kind, decimal_comma)
    if not _can_misfit(facts, kind):
        return value, None
    return value, pl.col(facts.name).is_not_null() & value.is_null()


def _all_fit(facts: ColumnFacts, nonnull: int, formats: tuple[ts.TimestampFormat, ...]) -> str:
    return {
        ColumnType.INTEGER: f"integer: all {_n(nonnull)} values are whole numbers",
        ColumnType.DECIMAL: f"decimal: all {_n(nonnull)} values are numbers",
        ColumnType.BOOLEAN: "boolean: every value is true or false",
        ColumnType.TIMESTAMP: (
            f"timestamp: all {_n(nonnull)} values are dates "
            f"({formats[0].label if formats else 'mixed formats'})"
        ),
    }[facts.speculative]


def _stays_text(facts: ColumnFacts, nonnull: int, distinct: int, decimal_comma: bool) -> _Inferred:
    """Text, with the type most values fit named, so the user sees what kept it text."""
    int_ok, float_ok = facts.count("int_ok"), facts.count("float_ok")
    scores = [("numbers", float_ok if facts.test_decimal else int_ok)] + [
        ("dates", facts.count(f"ts_ok:{f.pattern}")) for f in facts.formats
    ]
    label, best = max(scores, key=lambda pair: pair[1])
    if not best or best < nonnull // 2:
        return _Inferred(ColumnType.TEXT, "text: free-form values")
    misfits = nonnull - best
    evidence = f"text, because {_n(misfits)} of {_n(nonnull)} values are not {label}"
    x = pl.col(facts.name)
    if label == "numbers":
        forms = facts.count("bad:float" if facts.test_decimal else "bad:int")
        probe = x.is_not_null() & finite_float(x, decimal_comma).is_null()
    else:
        fmt = max(facts.formats, key=lambda f: facts.count(f"ts_ok:{f.pattern}"))
        forms = facts.count(f"bad:ts:{fmt.pattern}")
        probe = x.is_not_null() & ts.parse_text(x, fmt, "UTC").is_null()
    if label == "numbers" and facts.count("leading_zero"):
        evidence += "; some have leading zeros, kept as text so the zeros survive"
    elif rule.enough(best, nonnull) and forms > rule.allowed_forms(distinct):
        # Nearly all fit, but the rest are too varied to be typos: codes, not mistakes.
        evidence += f" ({_n(forms)} different values, too many to be typos)"
    return _Inferred(ColumnType.TEXT, evidence, disagreeing=misfits, probe=probe)


def _infer_text(
    facts: ColumnFacts, nonnull: int, distinct: int, decimal_comma: bool, zone: str
) -> _Inferred:
    int_ok, float_ok = facts.count("int_ok"), facts.count("float_ok")
    leading, overflow = facts.count("leading_zero"), facts.count("overflow")
    candidate_formats = facts.formats if facts.evidence_measured else facts.spec_formats
    full = tuple(
        f for f in candidate_formats if nonnull and facts.count(f"ts_ok:{f.pattern}") == nonnull
    )
    spec = facts.speculative
    if nonnull == 0:
        return _Inferred(ColumnType.TEXT, "text: every value is blank")
    if not facts.evidence_measured and spec is not ColumnType.TEXT:
        return _Inferred(spec, _all_fit(facts, nonnull, full), formats=full)
    if facts.sample_leading_zero is not None or (
        facts.test_integer and int_ok == nonnull and leading
    ):
        example = facts.sample_leading_zero or "0..."
        return _Inferred(
            ColumnType.TEXT,
            f"text: values such as '{example}' have leading zeros (codes such as ZIP or "
            "article numbers), kept as text so the zeros survive",
        )
    if facts.test_integer and int_ok == nonnull:
        return _Inferred(ColumnType.INTEGER, f"integer: all {_n(nonnull)} values are whole numbers")
    if facts.test_integer and overflow and int_ok + overflow == nonnull:
        return _Inferred(
            ColumnType.INTEGER,
            f"integer, but {_n(overflow)} values do not fit a 64-bit integer "
            "(Druid's long); make the column text or decimal in a template",
            misfits=overflow,
            disagreeing=overflow,
            mismatch=rule.OVERFLOW_MESSAGE,
        )
    if facts.test_decimal and float_ok == nonnull:
        return _Inferred(ColumnType.DECIMAL, f"decimal: all {_n(nonnull)} values are numbers")
    if facts.test_boolean and facts.count("bool_ok") == nonnull:
        return _Inferred(ColumnType.BOOLEAN, "boolean: every value is true or false")
    if full:
        return _Inferred(
            ColumnType.TIMESTAMP,
            f"timestamp: all {_n(nonnull)} values are dates ({full[0].label})",
            formats=full,
        )
    pick = rule.choose(rule.measured_candidates(facts), nonnull, distinct)
    if pick is None:
        return _stays_text(facts, nonnull, distinct, decimal_comma)
    misfits = nonnull - pick.fits
    return _Inferred(
        pick.type,
        rule.evidence(pick, nonnull),
        misfits=misfits,
        disagreeing=misfits,
        probe=rule.misfit_expr(facts, pick, decimal_comma, zone),
        formats=pick.formats,
        mismatch=rule.mismatch_message(pick.type, pick.formats),
    )


def _infer_native(facts: ColumnFacts, nonnull: int) -> _Inferred:
    dtype = facts.dtype
    if isinstance(dtype, (pl.Datetime, pl.Date)):
        return _Inferred(ColumnType.TIMESTAMP, "timestamp: the workbook stores dates")
    if dtype == pl.Boolean:
        return _Inferred(ColumnType.BOOLEAN, "boolean: the workbook stores TRUE/FALSE")
    if dtype.is_integer():
        return _Inferred(ColumnType.INTEGER, "integer: the workbook stores whole numbers")
    if dtype.is_float():
        low, high = facts.get("num_min"), facts.get("num_max")
        in_range = low is not None and high is not None and abs(low) < 2**63 and abs(high) < 2**63
        if nonnull and facts.count("whole") == nonnull and in_range:
            return _Inferred(ColumnType.INTEGER, f"integer: all {_n(nonnull)} numbers are whole")
        return _Inferred(ColumnType.DECIMAL, "decimal: the workbook stores numbers")
    return _Inferred(ColumnType.TEXT, f"text: stored as {dtype}")


def _range(
    facts: ColumnFacts, kind: ColumnType, formats: tuple[ts.TimestampFormat, ...]
) -> tuple[Any, Any]:
    """Min and max of the typed values (numbers as numbers, so 197.66 beats 82.64)."""
    if not facts.is_text:
        if isinstance(facts.dtype, (pl.Datetime, pl.Date)):
            return facts.get("native_min"), facts.get("native_max")
        if facts.dtype.is_numeric() and kind in (ColumnType.INTEGER, ColumnType.DECIMAL):
            return facts.get("num_min"), facts.get("num_max")
        return None, None
    if kind is ColumnType.INTEGER:
        return facts.get("int_min"), facts.get("int_max")
    if kind is ColumnType.DECIMAL:
        return facts.get("float_min"), facts.get("float_max")
    if kind is ColumnType.TIMESTAMP and formats:
        return facts.get(f"ts_min:{formats[0].pattern}"), facts.get(f"ts_max:{formats[0].pattern}")
    if kind is ColumnType.TEXT:
        return facts.get("text_min"), facts.get("text_max")
    return None, None


def decide(
    facts: ColumnFacts,
    rows: int,
    decimal_comma: bool,
    override: ColumnType | None,
    zone: str = "UTC",
) -> TypedColumn:
    """Choose the type the values fit (all, or nearly all: see misfits.py), and say why."""
    nonnull = facts.count("nonnull")
    distinct = facts.count("distinct")
    if facts.is_text:
        inferred = _infer_text(facts, nonnull, distinct, decimal_comma, zone)
    else:
        inferred = _infer_native(facts, nonnull)
    kind, evidence, formats = inferred.kind, inferred.evidence, inferred.formats
    minimum, maximum = _range(facts, kind, formats)
    misfits, probe, mismatch = inferred.misfits, inferred.probe, inferred.mismatch

    overridden = override is not None and override is not kind
    if override is not None and overridden:
        evidence = f"{override.value}: set by the template (inferred {evidence})"
        kind = override
        misfits, probe, mismatch = 0, None, ""  # the row checks count any misfits now
        if kind is ColumnType.TIMESTAMP and not formats:
            formats = tuple(
                sorted(
                    facts.formats,
                    key=lambda f: facts.count(f"ts_ok:{f.pattern}"),
                    reverse=True,
                )
            )
        if kind is not ColumnType.TEXT or facts.get("text_min") is not None:
            # The range of the values as the new type reads them (None where not measured).
            minimum, maximum = _range(facts, kind, formats)
    value, misfit = _typed_expr(facts, kind, decimal_comma, formats, zone)
    profile = ColumnProfile(
        name=facts.name,
        source_name=facts.name,
        type=kind,
        evidence=evidence,
        nulls=rows - nonnull,
        distinct_estimate=distinct,
        minimum=cell_value(minimum),
        maximum=cell_value(maximum),
        disagreeing=inferred.disagreeing,
        overridden=overridden,
        misfits=misfits,
        null_markers=marker_counts(facts.get("markers")),
    )
    return TypedColumn(
        profile,
        value,
        misfit if (misfits or overridden) else None,
        formats,
        probe,
        mismatch or rule.mismatch_message(kind, formats),
    )


def with_examples(
    frame: pl.LazyFrame, typed: dict[str, TypedColumn], skip: set[str] | None = None
) -> dict[str, TypedColumn]:
    """Name the first rows that do not fit ("row 17: 'n/a', row 902: 'x'"), one extra pass.

    Columns in `skip` get theirs from the row issues instead (`add_examples`), which the row
    checks collect anyway, so a file with typos is not read once more just for examples.
    """
    probes = {
        name: t.probe
        for name, t in typed.items()
        if t.probe is not None and name not in (skip or set())
    }
    if not probes:
        return typed
    flags = [probe.alias(f"\x1fprobe:{name}") for name, probe in probes.items()]
    found = (
        frame.filter(pl.any_horizontal(list(probes.values())))
        .head(2000)
        .with_columns(flags)
        .collect(engine="streaming")
    )
    rows = found.get_column(ROW_COLUMN).to_list()
    result = dict(typed)
    for name in probes:
        hits = found.get_column(f"\x1fprobe:{name}").to_list()
        values = found.get_column(name).cast(pl.String).to_list()
        examples = tuple(
            ValueExample(int(rows[i]), str(values[i])) for i, hit in enumerate(hits) if hit
        )
        profile = add_examples(result[name].profile, examples)
        result[name] = replace(result[name], profile=profile)
    return result


def add_examples(profile: ColumnProfile, examples: tuple[ValueExample, ...]) -> ColumnProfile:
    """The profile with its first misfits named in the evidence."""
    examples = examples[:EXAMPLES_PER_COLUMN]
    if not examples:
        return profile
    shown = ", ".join(f"row {e.row}: '{e.value}'" for e in examples)
    return replace(profile, examples=examples, evidence=f"{profile.evidence} ({shown})")
