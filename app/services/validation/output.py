"""The typed values written for Druid, shared by the speculative and the confirmed staging pass."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from app.domain.validation import ColumnType
from app.services.validation import timestamps as ts
from app.services.validation.profiling import (
    ColumnFacts,
    derived_name,
    finite_float,
    to_boolean,
    to_integer,
)

ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What decides a column's staged values; equal specs produce equal values."""

    name: str
    output: str
    type: ColumnType
    format: str | None = None  # timestamp pattern for text date columns


@dataclass(frozen=True, slots=True)
class TimeSpec:
    column: str
    format: str  # strptime pattern, ts.NATIVE, ts.EXCEL_SERIAL or "constant"


def convert(column: str, facts: ColumnFacts, kind: ColumnType, decimal_comma: bool) -> pl.Expr:
    """A column's values as `kind` (not timestamps); null where a present value does not fit."""
    x = pl.col(column)
    if facts.is_text:
        if kind is ColumnType.INTEGER:
            return to_integer(x)
        if kind is ColumnType.DECIMAL:
            return finite_float(x, decimal_comma)
        if kind is ColumnType.BOOLEAN:
            return to_boolean(x)
        return x
    dtype = facts.dtype
    if kind is ColumnType.INTEGER and dtype.is_numeric():
        value = x.cast(pl.Int64, strict=False)
        return pl.when(x == x.floor()).then(value).otherwise(None) if dtype.is_float() else value
    if kind is ColumnType.DECIMAL and dtype.is_numeric():
        return x.cast(pl.Float64)
    if kind is ColumnType.BOOLEAN and dtype == pl.Boolean:
        return x
    text = x.cast(pl.String).str.strip_chars()
    if kind is ColumnType.INTEGER:
        return to_integer(text)
    if kind is ColumnType.DECIMAL:
        return finite_float(text, decimal_comma)
    if kind is ColumnType.BOOLEAN:
        return to_boolean(text)
    return text


def value_expr(
    spec: OutputSpec, facts: ColumnFacts, decimal_comma: bool, zone: str, use_derived: bool
) -> pl.Expr:
    """Typed value of a column; `use_derived` reuses conversions the fast pass already made."""
    kind = spec.type
    if facts.is_text and use_derived and kind in (ColumnType.INTEGER, ColumnType.DECIMAL):
        return pl.col(derived_name(spec.name, "int" if kind is ColumnType.INTEGER else "float"))
    if kind is ColumnType.TIMESTAMP:
        x = pl.col(spec.name)
        if facts.is_text and spec.format:
            parsed = (
                pl.col(derived_name(spec.name, f"ts:{spec.format}"))
                if use_derived
                else ts.parse_text(x, ts.BY_PATTERN[spec.format], zone)
            )
            return parsed.dt.strftime(ISO_MS)
        if isinstance(facts.dtype, (pl.Datetime, pl.Date)):
            return ts.native_to_utc(x, facts.dtype, zone).dt.strftime(ISO_MS)
    return convert(spec.name, facts, kind, decimal_comma)


def time_expr(
    spec: TimeSpec,
    facts: ColumnFacts | None,
    zone: str,
    date1904: bool,
    use_derived: bool,
    constant: pl.Expr | None = None,
) -> pl.Expr:
    """The row timestamp as a UTC-aware millisecond datetime."""
    if spec.format == "constant" or facts is None:
        assert constant is not None
        return constant
    x = pl.col(spec.column)
    if spec.format == ts.EXCEL_SERIAL:
        return ts.excel_serial_to_utc(x, date1904, zone)
    if spec.format == ts.NATIVE:
        return ts.native_to_utc(x, facts.dtype, zone)
    if use_derived:
        return pl.col(derived_name(spec.column, f"ts:{spec.format}"))
    return ts.parse_text(x, ts.BY_PATTERN[spec.format], zone)
