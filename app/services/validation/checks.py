"""Row checks: which can fire, how often each does, and the first bad rows with their reasons."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from app.domain.rules import Template
from app.domain.validation import Severity, ValidationIssue
from app.services.reading.source import ROW_COLUMN
from app.services.validation.clipping import clip
from app.services.validation.column_types import TypedColumn
from app.services.validation.profiling import ColumnFacts
from app.services.validation.rules import (
    EARLIEST,
    LATEST,
    RowCheck,
    template_checks,
    unique_checks,
)
from app.services.validation.time_column import TimeDecision

REASON_COLUMN = "reason"
EXAMPLES_PER_CHECK = 5
_MAX_ROW_ISSUES = 1000


def _issue_from_check(check: RowCheck, row: int, value: str | None) -> ValidationIssue:
    # The value is echoed twice (its own field and the message): cut once, before both.
    value = clip(value) if value is not None else None
    return ValidationIssue(
        check.severity, check.code, check.describe(value), row=row, column=check.column, value=value
    )


def count_checks(
    frame: pl.LazyFrame, checks: list[RowCheck]
) -> tuple[list[tuple[RowCheck, int]], int]:
    """One streaming pass: the checks that fired with their counts, and the rows with errors."""
    errors = [c.bad.fill_null(False) for c in checks if c.severity is Severity.ERROR]
    flagged = pl.any_horizontal(errors) if errors else pl.lit(False)
    counts = (
        frame.select(
            [
                *[
                    c.bad.fill_null(False).cast(pl.Int64).sum().alias(str(i))
                    for i, c in enumerate(checks)
                ],
                flagged.cast(pl.Int64).sum().alias("\x1ferror_rows"),
            ]
        )
        .collect(engine="streaming")
        .row(0)
    )
    firing = [(c, int(n)) for c, n in zip(checks, counts[:-1], strict=True) if n]
    return firing, int(counts[-1] or 0)


def any_bad(checks: list[RowCheck]) -> pl.Expr:
    return pl.any_horizontal([c.bad.fill_null(False) for c in checks])


def collect_bad_rows(
    frame: pl.LazyFrame, firing: list[tuple[RowCheck, int]], limit: int
) -> tuple[pl.DataFrame, list[ValidationIssue]]:
    """Fetch the first bad rows once, with a reason column, and make the first issues from them."""
    flags = [c.bad.fill_null(False).alias(f"\x1fcheck{i}") for i, (c, _) in enumerate(firing)]
    any_bad = pl.any_horizontal([c.bad.fill_null(False) for c, _ in firing])
    data = frame.filter(any_bad).head(limit).with_columns(flags).collect(engine="streaming")
    issues: list[ValidationIssue] = []
    reasons: list[list[str]] = [[] for _ in range(data.height)]
    rows_col = data.get_column(ROW_COLUMN).to_list()
    for i, (check, _count) in enumerate(firing):
        hits = data.get_column(f"\x1fcheck{i}").to_list()
        values = (
            data.get_column(check.column).cast(pl.String).to_list()
            if check.column in data.columns
            else [None] * data.height
        )
        shown = 0
        for index, hit in enumerate(hits):
            if not hit:
                continue
            reasons[index].append(check.describe(values[index]))
            if check.report and shown < EXAMPLES_PER_CHECK and len(issues) < _MAX_ROW_ISSUES:
                issues.append(_issue_from_check(check, int(rows_col[index]), values[index]))
                shown += 1
    # In file order, as the user reads the file (checks of one row keep their order).
    issues.sort(key=lambda issue: issue.row or 0)
    export = data.drop([f"\x1fcheck{i}" for i in range(len(firing))]).with_columns(
        pl.Series(REASON_COLUMN, ["; ".join(r) for r in reasons], dtype=pl.String)
    )
    export = export.rename({ROW_COLUMN: "row"}).select(
        [
            "row",
            REASON_COLUMN,
            *[c for c in export.columns if c not in ("row", ROW_COLUMN, REASON_COLUMN)],
        ]
    )
    return export, issues


def profile_checks(
    typed: dict[str, TypedColumn],
    facts: dict[str, ColumnFacts],
    template: Template | None,
    max_cell_chars: int,
    time: TimeDecision,
    time_value: pl.Expr | None,
    time_range: tuple[datetime | None, datetime | None],
    rows: int,
) -> list[RowCheck]:
    """Only checks the whole-file profile says can fire; a clean file needs no extra pass."""
    checks: list[RowCheck] = []
    ts_name = time.spec.column if time.spec else None
    for name, item in typed.items():
        # The time column's unreadable values are reported once, as bad_timestamp below.
        if item.misfit is not None and name != ts_name:
            checks.append(
                RowCheck("type_mismatch", name, Severity.ERROR, item.misfit, item.mismatch)
            )
        if facts[name].is_text and facts[name].count("max_bytes") > max_cell_chars:
            limit = max_cell_chars
            checks.append(
                RowCheck(
                    "cell_too_large",
                    name,
                    Severity.ERROR,
                    pl.col(name).str.len_bytes() > limit,
                    f"The value is longer than {limit:,} bytes.",
                )
            )
        rule = template.rule(name) if template else None
        if rule:
            value = time_value if (name == ts_name and time_value is not None) else item.value
            checks.extend(template_checks(rule, name, item.profile.type, value))
    checks.extend(unique_checks(template, set(typed)))
    if time_value is None or not ts_name or time.choice is None:
        return checks
    if facts[ts_name].count("nonnull") < rows:
        checks.append(
            RowCheck(
                "missing_timestamp",
                ts_name,
                Severity.ERROR,
                pl.col(ts_name).is_null(),
                f"The timestamp column '{ts_name}' is empty.",
            )
        )
    if time.choice.failed:
        label = time.choice.format
        checks.append(
            RowCheck(
                "bad_timestamp",
                ts_name,
                Severity.ERROR,
                pl.col(ts_name).is_not_null() & time_value.is_null(),
                f"'{{value}}' is not a date in the format {label}.",
            )
        )
    low, high = time_range
    if (low is not None and low < EARLIEST) or (high is not None and high >= LATEST):
        checks.append(
            RowCheck(
                "timestamp_out_of_range",
                ts_name,
                Severity.ERROR,
                (time_value < EARLIEST) | (time_value >= LATEST),
                "{value} is outside the years 1900-2199; probably a typo.",
            )
        )
    return checks
