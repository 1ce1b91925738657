"""Druid's rules and a template's rules, as row checks and file-level issues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType, Severity, ValidationIssue

# Druid stores __time in milliseconds; dates outside this window are almost always typos.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RESERVED_COLUMNS = frozenset({"__time"})


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A condition that marks bad rows; `message` names the bad value with a {value} slot."""

    code: str
    column: str | None
    severity: Severity
    bad: pl.Expr
    message: str
    value_column: str | None = None
    # False when the reader already reported these rows; they still count and are excluded.
    report: bool = True

    def describe(self, value: str | None) -> str:
        return self.message.replace("{value}", "" if value is None else value)


def column_name_issues(
    names: list[str], outputs: list[str], timestamp_column: str | None
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    seen: dict[str, str] = {}
    for name, output in zip(names, outputs, strict=True):
        if not output.strip():
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "empty_column_name",
                    f"Column '{name}' would have an empty name in Druid. Give it a name.",
                    column=name,
                )
            )
        elif output in RESERVED_COLUMNS and name != timestamp_column:
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "reserved_column",
                    f"Column '{name}' would be called '{output}', which Druid reserves for the "
                    "row timestamp. Rename it in a template.",
                    column=name,
                )
            )
        elif output.startswith("__") and output not in RESERVED_COLUMNS:
            issues.append(
                ValidationIssue(
                    Severity.WARNING,
                    "system_like_column",
                    f"Column '{output}' starts with '__', which Druid uses for system columns.",
                    column=name,
                )
            )
        if output in seen and name != timestamp_column:
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "colliding_columns",
                    f"Columns '{seen[output]}' and '{name}' would both be called '{output}' "
                    "in Druid.",
                    column=name,
                )
            )
        seen.setdefault(output, name)
    return issues


def _numeric_bound(value: float | str | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _time_bound(value: float | str | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def template_checks(
    rule: ColumnRule, column: str, kind: ColumnType, typed: pl.Expr
) -> list[RowCheck]:
    """Row checks for one column's template rule (regex, allowed values, ranges, required)."""
    checks: list[RowCheck] = []
    raw = pl.col(column)
    as_text = raw.cast(pl.String)
    if rule.required:
        checks.append(
            RowCheck(
                "required_value",
                column,
                Severity.ERROR,
                raw.is_null(),
                f"'{column}' is required but empty.",
            )
        )
    if rule.regex:
        pattern = rule.regex
        checks.append(
            RowCheck(
                "pattern",
                column,
                Severity.ERROR,
                raw.is_not_null() & ~as_text.str.contains(f"^(?:{pattern})$"),
                f"'{{value}}' does not match the pattern {pattern}.",
            )
        )
    if rule.allowed is not None:
        allowed = list(rule.allowed)
        shown = ", ".join(allowed[:8]) + (" ..." if len(allowed) > 8 else "")
        checks.append(
            RowCheck(
                "not_allowed",
                column,
                Severity.ERROR,
                raw.is_not_null() & ~as_text.is_in(allowed),
                f"'{{value}}' is not one of the allowed values ({shown}).",
            )
        )
    low, high = rule.minimum, rule.maximum
    if kind in (ColumnType.INTEGER, ColumnType.DECIMAL):
        lo, hi = _numeric_bound(low), _numeric_bound(high)
        if lo is not None:
            checks.append(
                RowCheck(
                    "below_minimum",
                    column,
                    Severity.ERROR,
                    typed < lo,
                    f"{{value}} is below the minimum {lo:g}.",
                )
            )
        if hi is not None:
            checks.append(
                RowCheck(
                    "above_maximum",
                    column,
                    Severity.ERROR,
                    typed > hi,
                    f"{{value}} is above the maximum {hi:g}.",
                )
            )
    elif kind is ColumnType.TIMESTAMP:
        tlo, thi = _time_bound(low), _time_bound(high)
        if tlo is not None:
            checks.append(
                RowCheck(
                    "before_minimum",
                    column,
                    Severity.ERROR,
                    typed < tlo,
                    f"{{value}} is before {tlo.date().isoformat()}.",
                )
            )
        if thi is not None:
            checks.append(
                RowCheck(
                    "after_maximum",
                    column,
                    Severity.ERROR,
                    typed > thi,
                    f"{{value}} is after {thi.date().isoformat()}.",
                )
            )
    return checks


def unique_checks(template: Template | None, columns: set[str]) -> list[RowCheck]:
    checks: list[RowCheck] = []
    for key in template.unique if template else ():
        present = [c for c in key if c in columns]
        if len(present) != len(key):
            continue
        label = " + ".join(key)
        expr = (
            pl.col(key[0]).is_duplicated()
            if len(key) == 1
            else pl.struct([pl.col(c) for c in key]).is_duplicated()
        )
        checks.append(
            RowCheck(
                "duplicate_key",
                key[0],
                Severity.ERROR,
                expr,
                f"Duplicate {label}: '{{value}}' appears more than once.",
            )
        )
    return checks


def missing_required(template: Template | None, columns: set[str]) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    for rule in template.columns if template else ():
        if rule.required and rule.name not in columns:
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "missing_column",
                    f"The template requires a column '{rule.name}', which the file lacks.",
                    column=rule.name,
                )
            )
    return issues
