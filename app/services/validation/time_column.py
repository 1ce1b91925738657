"""Pick the column that becomes Druid's __time and how to read it, or what the user must decide."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.validation import (
    ColumnType,
    DateOrder,
    PendingDecision,
    Severity,
    TimestampChoice,
    ValidationIssue,
)
from app.services.validation import timestamps as ts
from app.services.validation.output import TimeSpec
from app.services.validation.profiling import ColumnFacts


@dataclass(frozen=True, slots=True)
class ColumnView:
    """A column's type and the date formats that read every value, as one pass sees them."""

    type: ColumnType
    formats: tuple[ts.TimestampFormat, ...]


@dataclass
class TimeDecision:
    spec: TimeSpec | None = None
    choice: TimestampChoice | None = None
    pending: list[PendingDecision] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)


def _order_words(order: DateOrder) -> str:
    return "day-first" if order is DateOrder.DAY_FIRST else "month-first"


def candidates(views: dict[str, ColumnView], facts: dict[str, ColumnFacts]) -> list[str]:
    """Date columns, those with a date-like name first; then numbers that look like Excel dates."""
    names = [n for n, v in views.items() if v.type is ColumnType.TIMESTAMP]
    ranked = sorted(names, key=lambda n: (not ts.looks_like_time_name(n), names.index(n)))
    serials = [n for n, f in facts.items() if f.test_serial and n not in names]
    # A date-named column where most values are dates: use it and report the others as errors.
    mostly = [
        n
        for n, f in facts.items()
        if n not in names and f.is_text and ts.looks_like_time_name(n) and _best_formats(f)
    ]
    return ranked + serials + mostly


def _best_formats(item: ColumnFacts) -> list[ts.TimestampFormat]:
    """Measured formats that read at least half the values, the best first."""
    nonnull = item.count("nonnull")
    scored = [(item.count(f"ts_ok:{f.pattern}"), f) for f in item.formats]
    good = [pair for pair in scored if nonnull and pair[0] * 2 >= nonnull]
    return [f for _, f in sorted(good, key=lambda pair: -pair[0])]


def decide_time(
    views: dict[str, ColumnView],
    facts: dict[str, ColumnFacts],
    *,
    requested: str | None,
    wanted_order: DateOrder | None,
    zone: str,
    date1904: bool,
    measured: bool,
) -> TimeDecision:
    """`measured` is False for the speculative pass, which only needs the spec."""
    decision = TimeDecision()
    if requested and requested not in views:
        decision.issues.append(
            ValidationIssue(
                Severity.ERROR,
                "timestamp_column_missing",
                f"The timestamp column '{requested}' is not in the file.",
                column=requested,
            )
        )
        return decision
    for column in [requested] if requested else candidates(views, facts):
        item, view = facts[column], views[column]
        nonnull = item.count("nonnull")
        if item.test_serial and view.type is not ColumnType.TIMESTAMP:
            system = "1904" if date1904 else "1900"
            decision.spec = TimeSpec(column, ts.EXCEL_SERIAL)
            decision.choice = TimestampChoice(
                column,
                ts.EXCEL_SERIAL,
                None,
                zone,
                nonnull,
                0,
                f"numbers in a date-named column read as Excel serial dates ({system} system)",
            )
            return decision
        if not item.is_text and view.type is ColumnType.TIMESTAMP:
            decision.spec = TimeSpec(column, ts.NATIVE)
            decision.choice = TimestampChoice(
                column,
                ts.NATIVE,
                None,
                zone,
                nonnull,
                0,
                "the workbook stores these cells as dates",
            )
            return decision
        formats = list(view.formats) or _best_formats(item)
        if not formats:
            if requested:
                decision.issues.append(
                    ValidationIssue(
                        Severity.ERROR,
                        "timestamp_unreadable",
                        f"The values in '{column}' are not dates in any format we know. "
                        "Pick another column or fix the values.",
                        column=column,
                    )
                )
                return decision
            continue
        first = formats[0]
        chosen, order, reason = first, first.order, f"every value reads as {first.label}"
        if first.twin is not None:
            twin = ts.BY_PATTERN[first.twin]
            if twin in formats:
                if wanted_order is None:
                    decision.pending.append(
                        PendingDecision(
                            code="date_order",
                            column=column,
                            question=(
                                f"Are the dates in '{column}' day first (31/12) "
                                "or month first (12/31)?"
                            ),
                            options=(DateOrder.DAY_FIRST.value, DateOrder.MONTH_FIRST.value),
                            evidence=(
                                f"all {nonnull:,} values are valid both ways (no day above 12), "
                                "so the file cannot tell"
                            ),
                        )
                    )
                    return decision
                chosen = first if first.order is wanted_order else twin
                order = wanted_order
                reason = f"values fit both orders; read {_order_words(wanted_order)} as chosen"
            else:
                words = _order_words(first.order or DateOrder.DAY_FIRST)
                only = item.get(f"ts_only:{first.pattern}")
                example = item.order_examples.get(first.pattern)
                if only is not None:
                    reason = f"{int(only):,} values are only valid {words}; read as {first.label}"
                elif example:
                    reason = (
                        f"values such as '{example}' are only valid {words}; read as {first.label}"
                    )
                else:
                    reason = f"only the {words} reading fits every value; read as {first.label}"
        parsed = item.count(f"ts_ok:{chosen.pattern}") if measured else nonnull
        if parsed < nonnull and reason.startswith("every value"):
            # A column typed despite a few misfits: say so; each misfit is a row error.
            reason = f"{parsed:,} of {nonnull:,} values read as {chosen.label}"
        decision.spec = TimeSpec(column, chosen.pattern)
        decision.choice = TimestampChoice(
            column, chosen.pattern, order, zone, parsed, nonnull - parsed, reason
        )
        return decision
    return decision
