"""Row checks: count how often each fires, then fetch the first bad rows with their reasons."""

from __future__ import annotations

import polars as pl

from app.domain.validation import ValidationIssue
from app.services.reading.source import ROW_COLUMN
from app.services.validation.rules import RowCheck

REASON_COLUMN = "reason"
EXAMPLES_PER_CHECK = 5
_MAX_ROW_ISSUES = 1000


def _issue_from_check(check: RowCheck, row: int, value: str | None) -> ValidationIssue:
    return ValidationIssue(
        check.severity, check.code, check.describe(value), row=row, column=check.column, value=value
    )


def count_checks(frame: pl.LazyFrame, checks: list[RowCheck]) -> list[tuple[RowCheck, int]]:
    """One streaming pass; returns only the checks that fired, with their counts."""
    counts = (
        frame.select(
            [
                c.bad.fill_null(False).cast(pl.Int64).sum().alias(str(i))
                for i, c in enumerate(checks)
            ]
        )
        .collect(engine="streaming")
        .row(0)
    )
    return [(c, int(n)) for c, n in zip(checks, counts, strict=True) if n]


def count_rows(frame: pl.LazyFrame, checks: list[RowCheck]) -> int:
    if not checks:
        return 0
    flagged = pl.any_horizontal([c.bad.fill_null(False) for c in checks])
    return int(frame.select(flagged.cast(pl.Int64).sum()).collect(engine="streaming").item())


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
