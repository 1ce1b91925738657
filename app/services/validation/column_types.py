"""Turn measured facts into a column type with evidence, and the expression that produces it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from app.domain.validation import ColumnProfile, ColumnType, ValueExample
from app.services.reading.source import ROW_COLUMN
from app.services.validation import timestamps as ts
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
    # For text that is almost another type: true where a value breaks that type (for examples).
    probe: pl.Expr | None = None


def _n(value: int) -> str:
    return f"{value:,}"


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
    facts: ColumnFacts, kind: ColumnType, decimal_comma: bool
) -> tuple[pl.Expr, pl.Expr | None]:
    value = convert(facts.name, facts, kind, decimal_comma)
    if not _can_misfit(facts, kind):
        return value, None
    return value, pl.col(facts.name).is_not_null() & value.is_null()


def decide(
    facts: ColumnFacts,
    rows: int,
    decimal_comma: bool,
    override: ColumnType | None,
) -> TypedColumn:
    """Choose the strictest type every value fits, and say why in words a user can check."""
    nonnull = facts.count("nonnull")
    nulls = rows - nonnull
    distinct = facts.count("distinct")
    misfits = 0
    probe: pl.Expr | None = None
    minimum = maximum = None
    full_formats: tuple[ts.TimestampFormat, ...] = ()

    if facts.is_text:
        int_ok, float_ok = facts.count("int_ok"), facts.count("float_ok")
        leading, overflow = facts.count("leading_zero"), facts.count("overflow")
        candidate_formats = facts.formats if facts.evidence_measured else facts.spec_formats
        full_formats = tuple(
            f for f in candidate_formats if nonnull and facts.count(f"ts_ok:{f.pattern}") == nonnull
        )
        spec = facts.speculative
        if nonnull == 0:
            kind, evidence = ColumnType.TEXT, "text: every value is blank"
        elif not facts.evidence_measured and spec is not ColumnType.TEXT:
            kind = spec
            evidence = {
                ColumnType.INTEGER: f"integer: all {_n(nonnull)} values are whole numbers",
                ColumnType.DECIMAL: f"decimal: all {_n(nonnull)} values are numbers",
                ColumnType.BOOLEAN: "boolean: every value is true or false",
                ColumnType.TIMESTAMP: (
                    f"timestamp: all {_n(nonnull)} values are dates "
                    f"({full_formats[0].label if full_formats else 'mixed formats'})"
                ),
            }[spec]
        elif facts.sample_leading_zero is not None or (
            facts.test_integer and int_ok == nonnull and leading
        ):
            kind = ColumnType.TEXT
            example = facts.sample_leading_zero or "0..."
            evidence = (
                f"text: values such as '{example}' have leading zeros (codes such as ZIP or "
                "article numbers), kept as text so the zeros survive"
            )
        elif facts.test_integer and int_ok == nonnull:
            kind, evidence = (
                ColumnType.INTEGER,
                f"integer: all {_n(nonnull)} values are whole numbers",
            )
        elif facts.test_integer and overflow and int_ok + overflow == nonnull:
            kind = ColumnType.INTEGER
            misfits = overflow
            evidence = (
                f"integer, but {_n(overflow)} values do not fit a 64-bit integer "
                "(Druid's long); make the column text or decimal in a template"
            )
        elif facts.test_decimal and float_ok == nonnull:
            kind, evidence = ColumnType.DECIMAL, f"decimal: all {_n(nonnull)} values are numbers"
        elif facts.test_boolean and facts.count("bool_ok") == nonnull:
            kind, evidence = ColumnType.BOOLEAN, "boolean: every value is true or false"
        elif full_formats:
            kind = ColumnType.TIMESTAMP
            evidence = f"timestamp: all {_n(nonnull)} values are dates ({full_formats[0].label})"
        else:
            kind = ColumnType.TEXT
            scores = [("numbers", float_ok if facts.test_decimal else int_ok)] + [
                ("dates", facts.count(f"ts_ok:{f.pattern}")) for f in facts.formats
            ]
            label, best = max(scores, key=lambda pair: pair[1])
            if best and best >= nonnull // 2:
                misfits = nonnull - best
                evidence = f"text, because {_n(misfits)} of {_n(nonnull)} values are not {label}"
                x = pl.col(facts.name)
                if label == "numbers":
                    probe = x.is_not_null() & finite_float(x, decimal_comma).is_null()
                else:
                    fmt = max(facts.formats, key=lambda f: facts.count(f"ts_ok:{f.pattern}"))
                    probe = x.is_not_null() & ts.parse_text(x, fmt, "UTC").is_null()
            else:
                evidence = "text: free-form values"
        if kind is ColumnType.INTEGER:
            minimum, maximum = facts.get("int_min"), facts.get("int_max")
        elif kind is ColumnType.DECIMAL:
            minimum, maximum = facts.get("float_min"), facts.get("float_max")
        elif kind is ColumnType.TIMESTAMP and full_formats:
            minimum = facts.get(f"ts_min:{full_formats[0].pattern}")
            maximum = facts.get(f"ts_max:{full_formats[0].pattern}")
        elif facts.get("text_min") is not None:
            minimum, maximum = facts.get("text_min"), facts.get("text_max")
    else:
        dtype = facts.dtype
        if isinstance(dtype, (pl.Datetime, pl.Date)):
            kind, evidence = ColumnType.TIMESTAMP, "timestamp: the workbook stores dates"
            minimum, maximum = facts.get("native_min"), facts.get("native_max")
        elif dtype == pl.Boolean:
            kind, evidence = ColumnType.BOOLEAN, "boolean: the workbook stores TRUE/FALSE"
        elif dtype.is_integer():
            kind, evidence = ColumnType.INTEGER, "integer: the workbook stores whole numbers"
            minimum, maximum = facts.get("num_min"), facts.get("num_max")
        elif dtype.is_float():
            minimum, maximum = facts.get("num_min"), facts.get("num_max")
            whole = facts.count("whole")
            in_range = (
                minimum is not None
                and maximum is not None
                and abs(minimum) < 2**63
                and abs(maximum) < 2**63
            )
            if nonnull and whole == nonnull and in_range:
                kind, evidence = ColumnType.INTEGER, f"integer: all {_n(nonnull)} numbers are whole"
            else:
                kind, evidence = ColumnType.DECIMAL, "decimal: the workbook stores numbers"
        else:
            kind, evidence = ColumnType.TEXT, f"text: stored as {dtype}"

    overridden = override is not None and override is not kind
    if override is not None and overridden:
        evidence = f"{override.value}: set by the template (inferred {evidence})"
        kind = override
        if kind is ColumnType.TIMESTAMP and not full_formats:
            full_formats = tuple(
                sorted(
                    facts.formats,
                    key=lambda f: facts.count(f"ts_ok:{f.pattern}"),
                    reverse=True,
                )
            )
    value, misfit = _typed_expr(facts, kind, decimal_comma)
    if kind is ColumnType.TIMESTAMP:
        value, misfit = pl.col(facts.name), None  # parsed by the timestamp step
    profile = ColumnProfile(
        name=facts.name,
        source_name=facts.name,
        type=kind,
        evidence=evidence,
        nulls=nulls,
        distinct_estimate=distinct,
        minimum=cell_value(minimum),
        maximum=cell_value(maximum),
        disagreeing=misfits,
        overridden=overridden,
    )
    return TypedColumn(
        profile, value, misfit if (misfits or overridden) else None, full_formats, probe
    )


def with_examples(frame: pl.LazyFrame, typed: dict[str, TypedColumn]) -> dict[str, TypedColumn]:
    """Name the first rows that keep a column from a stricter type ("rows 17, 902: 'n/a'")."""
    probes = {name: t.probe for name, t in typed.items() if t.probe is not None}
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
        )[:EXAMPLES_PER_COLUMN]
        if not examples:
            continue
        where = ", ".join(str(e.row) for e in examples)
        shown = ", ".join(f"'{e.value}'" for e in examples)
        profile = result[name].profile
        profile = replace(
            profile, examples=examples, evidence=f"{profile.evidence} (rows {where}: {shown})"
        )
        result[name] = replace(result[name], profile=profile)
    return result
