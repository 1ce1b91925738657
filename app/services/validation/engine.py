"""Validate a whole source table: profiles, the timestamp decision, rules, verdict, staging plan."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from app.domain.rules import Template
from app.domain.validation import (
    ColumnProfile,
    ColumnType,
    Severity,
    TimestampChoice,
    ValidationIssue,
    ValidationReport,
    ValueExample,
    Verdict,
)
from app.services.reading.failures import reading_boundary
from app.services.reading.source import ROW_COLUMN, SourceTable
from app.services.validation import checks as row_checks
from app.services.validation import overview, profiling
from app.services.validation import timestamps as ts
from app.services.validation.column_types import (
    TypedColumn,
    add_examples,
    decide,
    with_examples,
)
from app.services.validation.datasource_name import datasource_issues
from app.services.validation.null_markers import marker_issues, with_marker_columns
from app.services.validation.options import ValidateOptions
from app.services.validation.output import OutputSpec, TimeSpec, time_expr, value_expr
from app.services.validation.rules import RowCheck, column_name_issues, missing_required
from app.services.validation.scan import run_scan
from app.services.validation.skipping import without_skipped
from app.services.validation.time_column import ColumnView, TimeDecision, decide_time

TIME_COLUMN = "__time"


@dataclass(frozen=True, slots=True)
class OutputColumn:
    name: str  # in the source frame
    output: str  # in Druid
    type: ColumnType
    value: pl.Expr


@dataclass(frozen=True, slots=True)
class StagingPlan:
    """How to turn the source frame into the typed rows Druid will read."""

    frame: pl.LazyFrame  # normalised source frame
    columns: tuple[OutputColumn, ...]
    time_ms: pl.Expr
    exclude: pl.Expr | None  # rows to leave out (errors under the user's threshold)
    rows: int
    excluded_rows: int


class SpeculativeSink(Protocol):
    """Receives typed batches during the validation pass, before the verdict is known."""

    def write(self, batch: pl.DataFrame) -> None: ...


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    report: ValidationReport
    plan: StagingPlan | None  # None when the file must not be staged
    bad_rows: pl.DataFrame | None  # the first bad rows with a reason column, for export
    time_range: tuple[datetime | None, datetime | None] = (None, None)
    # True when the speculative sink received exactly the rows the plan would write.
    speculation_confirmed: bool = False


@dataclass(frozen=True, slots=True)
class _Layout:
    """The staged file's shape: equal layouts write identical files."""

    time: TimeSpec
    columns: tuple[OutputSpec, ...]


def _speculative_views(facts: list[profiling.ColumnFacts]) -> dict[str, ColumnView]:
    views: dict[str, ColumnView] = {}
    for item in facts:
        if item.is_text:
            views[item.name] = ColumnView(item.speculative, tuple(item.spec_formats))
        elif isinstance(item.dtype, (pl.Datetime, pl.Date)):
            views[item.name] = ColumnView(ColumnType.TIMESTAMP, ())
        else:
            views[item.name] = ColumnView(ColumnType.TEXT, ())
    return views


def _layout(
    views: dict[str, ColumnView], outputs: dict[str, str], time: TimeDecision
) -> _Layout | None:
    if time.spec is None:
        return None
    columns = tuple(
        OutputSpec(
            name,
            outputs[name],
            view.type,
            view.formats[0].pattern if view.type is ColumnType.TIMESTAMP and view.formats else None,
        )
        for name, view in views.items()
        if name != time.spec.column
    )
    return _Layout(time.spec, columns)


def _normalised(
    frame: pl.LazyFrame, text_columns: list[str], strip: Collection[str], markers: bool
) -> pl.LazyFrame:
    """Null markers read as empty (trimmed first where asked); `markers` keeps them for counting."""
    if markers:
        frame = with_marker_columns(frame, text_columns, strip)
    return frame.with_columns([profiling.normalise_text(c, strip=c in strip) for c in text_columns])


def _attach(facts: list[profiling.ColumnFacts], measured: dict[str, Any]) -> None:
    """Every column reads its figures from the same result of the latest pass."""
    for item in facts:
        item.measured = measured


def _has_row_rules(template: Template | None) -> bool:
    if template is None:
        return False
    return bool(template.unique) or any(
        r.required
        or r.regex
        or r.allowed is not None
        or r.minimum is not None
        or r.maximum is not None
        or r.type is not None
        for r in template.columns
    )


@reading_boundary
def validate_source(
    source: SourceTable,
    options: ValidateOptions | None = None,
    *,
    sink: SpeculativeSink | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ValidationOutcome:
    """Check every row. With a sink, the likely staging output is written in the same pass."""
    options = options or ValidateOptions()
    template = options.template
    source = without_skipped(source, template)
    zone = (template.timezone if template and template.timezone else None) or options.timezone
    wanted_order = options.date_order or (template.date_order if template else None)
    requested = options.timestamp_column or (template.timestamp_column if template else None)
    decimal_comma = source.decimal_comma
    issues: list[ValidationIssue] = list(source.issues)
    issues.extend(datasource_issues(options.datasource))
    outputs = {
        name: (
            rule.rename
            if (rule := template.rule(name) if template else None) and rule.rename
            else name
        )
        for name in source.columns
    }

    schema = source.frame.collect_schema()
    text_columns = [c for c in source.columns if schema[c] == pl.String]
    frame = _normalised(source.frame, text_columns, (), markers=False)
    stripped = _normalised(source.frame, text_columns, text_columns, markers=False)
    sample = stripped.head(profiling.SAMPLE_ROWS).collect()
    facts_list = profiling.plan_candidates(sample, source.columns, decimal_comma, zone)
    facts = {f.name: f for f in facts_list}
    constant = (
        pl.lit(options.constant_timestamp).cast(pl.Datetime("ms", "UTC"))
        if options.constant_timestamp is not None
        else None
    )

    # Pass 1: check the sample's guesses on every row, and write the likely output meanwhile.
    fast = profiling.fast_pass(facts_list, decimal_comma, zone, check_padding=True)
    speculation: _Layout | None = None
    output_exprs: list[pl.Expr] | None = None
    views = _speculative_views(facts_list)
    guess = decide_time(
        views,
        facts,
        requested=requested,
        wanted_order=wanted_order,
        zone=zone,
        date1904=source.date1904,
        measured=False,
    )
    if guess.spec is None and constant is not None:
        guess.spec = TimeSpec("", "constant")
    # Rows per day ride along for the guessed time column; a different final choice re-counts.
    days_spec, days_aggs = overview.guessed_days(guess.spec, facts, zone, source.date1904)
    # Colliding Druid names are an error below; no output may be written for them.
    distinct = len(set(outputs.values())) == len(outputs)
    if sink is not None and distinct and not _has_row_rules(template):
        speculation = _layout(views, outputs, guess)
        if speculation is not None:
            output_exprs = _output_exprs(
                speculation, facts, decimal_comma, zone, source.date1904, True, constant
            )
    result = run_scan(
        _normalised(source.frame, text_columns, (), markers=True),
        fast.derived,
        fast.aggs + days_aggs,
        output_exprs,
        sink if output_exprs else None,
        progress,
        cancelled,
        keep_head=options.preview_rows,
    )
    preview = overview.preview_rows(result.head, source.columns)
    rows = result.rows
    # Values with surrounding spaces were judged untrimmed: measure again on trimmed values,
    # for text with padding and for any column whose guess failed (padding may be why).
    _attach(facts_list, result.values)
    padded = [
        c
        for c in text_columns
        if result.values.get(f"{c}{profiling.SEP}padded", 0) or not facts[c].speculation_holds()
    ]
    if padded:
        frame = _normalised(source.frame, text_columns, padded, markers=False)
        fast = profiling.fast_pass(facts_list, decimal_comma, zone)
        result = run_scan(
            _normalised(source.frame, text_columns, padded, markers=True),
            fast.derived,
            fast.aggs + days_aggs,
            cancelled=cancelled,
        )
        _attach(facts_list, result.values)

    # Pass 2, only for columns whose guess failed: test every plausible type, for the evidence.
    doubtful = [f for f in facts_list if f.needs_evidence()]
    if doubtful:
        evidence = profiling.evidence_pass(doubtful, decimal_comma, zone)
        extra = run_scan(frame, evidence.derived, evidence.aggs, cancelled=cancelled)
        _attach(facts_list, {**result.values, **extra.values})

    typed: dict[str, TypedColumn] = {}
    for name in source.columns:
        rule = template.rule(name) if template else None
        typed[name] = decide(facts[name], rows, decimal_comma, rule.type if rule else None, zone)
        issues.extend(marker_issues(name, typed[name].profile.null_markers))
    if rows == 0:
        issues.append(
            ValidationIssue(
                Severity.ERROR, "no_rows", "The file has a header but no data rows below it."
            )
        )

    final_views = {n: ColumnView(t.profile.type, t.formats) for n, t in typed.items()}
    time = decide_time(
        final_views,
        facts,
        requested=requested,
        wanted_order=wanted_order,
        zone=zone,
        date1904=source.date1904,
        measured=True,
    )
    issues.extend(time.issues)
    if time.spec is None and not time.pending and not time.issues:
        if constant is not None and options.constant_timestamp is not None:
            time.spec = TimeSpec("", "constant")
            time.choice = TimestampChoice(
                "",
                "constant",
                None,
                zone,
                rows,
                0,
                f"no time column; every row gets {options.constant_timestamp.isoformat()}",
            )
        else:
            issues.append(
                ValidationIssue(
                    Severity.ERROR,
                    "no_timestamp",
                    "No column holds a date or time in every row, and Druid needs one per row. "
                    "Options: pick the column and its date format, give every row the same "
                    "timestamp (e.g. the report date), or add a date column to the file.",
                )
            )
    chosen = time.choice
    ts_name = time.spec.column if time.spec else None
    # Misfits in a typed column become row issues below; those name the examples too.
    reported = {n for n, t in typed.items() if t.misfit is not None and n != ts_name}
    typed = with_examples(frame, typed, skip=reported)

    profiles: list[ColumnProfile] = []
    for name in source.columns:
        profile = typed[name].profile
        if chosen and chosen.column == name and chosen.format == ts.EXCEL_SERIAL:
            low, high = _serial_range(facts[name], source.date1904, zone)
            profile = replace(
                profile, type=ColumnType.TIMESTAMP, evidence=chosen.reason, minimum=low,
                maximum=high,
            )
            final_views[name] = ColumnView(ColumnType.TIMESTAMP, ())
        profiles.append(profile)
    issues.extend(column_name_issues(list(source.columns), list(outputs.values()), ts_name))
    issues.extend(missing_required(template, set(source.columns)))

    time_value = (
        time_expr(time.spec, facts.get(time.spec.column), zone, source.date1904, False, constant)
        if time.spec
        else None
    )
    time_range = _time_range(facts, chosen, options, source.date1904, zone)
    days = overview.rows_per_day(
        time.spec,
        rows,
        measured_spec=days_spec,
        measured=result.values.get(overview.DAYS_KEY),
        frame=frame,
        time_value=time_value,
        zone=zone,
        cancelled=cancelled,
    )
    checks = row_checks.profile_checks(
        typed, facts, template, options.max_cell_chars, time, time_value, time_range, rows
    )

    reader_rows = sorted(
        {i.row for i in source.issues if i.severity is Severity.ERROR and i.row is not None}
    )
    if reader_rows:
        checks.append(
            RowCheck(
                "unreadable_row", None, Severity.ERROR, pl.col(ROW_COLUMN).is_in(reader_rows),
                "The row's fields do not line up with the header.", report=False,
            )
        )
    error_rows = 0
    bad_rows: pl.DataFrame | None = None
    exclude: pl.Expr | None = None
    if checks and rows:
        firing, error_rows = row_checks.count_checks(frame, checks)
        if firing:
            errors_only = [c for c, _ in firing if c.severity is Severity.ERROR]
            exclude = row_checks.any_bad(errors_only) if errors_only else None
            bad_rows, row_issues = row_checks.collect_bad_rows(
                frame, firing, options.bad_rows_limit
            )
            issues.extend(row_issues)
            profiles = _with_row_examples(profiles, row_issues, reported)
            for check, count in firing:
                if check.report and count > row_checks.EXAMPLES_PER_CHECK:
                    issues.append(
                        ValidationIssue(
                            check.severity,
                            f"{check.code}_total",
                            f"{count:,} rows in all fail this check ('{check.column}').",
                            column=check.column,
                        )
                    )

    file_errors = [
        i
        for i in issues
        if i.severity is Severity.ERROR and i.row is None and not i.code.endswith("_total")
    ]
    within_threshold = error_rows <= options.max_error_rows
    if file_errors or (error_rows and not within_threshold):
        verdict = Verdict.INVALID
    elif time.pending:
        verdict = Verdict.NEEDS_REVIEW
    else:
        verdict = Verdict.VALID
    if error_rows and verdict is Verdict.VALID:
        issues.append(
            ValidationIssue(
                Severity.WARNING,
                "rows_excluded",
                f"{error_rows:,} rows with errors will be left out (your threshold allows "
                f"{options.max_error_rows:,}).",
            )
        )

    report = ValidationReport(
        file=source.path,
        kind=source.kind,
        verdict=verdict,
        rows=rows,
        sheet=source.sheet,
        sheets=source.sheets,
        columns=tuple(profiles),
        timestamp=chosen,
        issues=tuple(issues),
        decisions=source.decisions,
        pending=tuple(time.pending),
        rows_with_errors=error_rows,
        error_rows_truncated=bad_rows is not None and bad_rows.height >= options.bad_rows_limit,
        preview=preview,
        rows_per_day=days,
    )
    plan = None
    confirmed = False
    if verdict is Verdict.VALID and time.spec is not None:
        layout = _layout(final_views, outputs, time)
        assert layout is not None
        exprs = _output_exprs(layout, facts, decimal_comma, zone, source.date1904, False, constant)
        plan = StagingPlan(
            frame=frame,
            columns=tuple(
                OutputColumn(spec.name, spec.output, spec.type, expr)
                for spec, expr in zip(layout.columns, exprs[1:], strict=True)
            ),
            time_ms=exprs[0],
            exclude=exclude if error_rows else None,
            rows=rows - error_rows,
            excluded_rows=error_rows,
        )
        confirmed = (
            speculation == layout and error_rows == 0 and output_exprs is not None and not padded
        )
    return ValidationOutcome(report, plan, bad_rows, time_range, confirmed)


def _with_row_examples(
    profiles: list[ColumnProfile], row_issues: list[ValidationIssue], columns: set[str]
) -> list[ColumnProfile]:
    """Name the first misfits of typed columns in their evidence, from the row issues."""
    found: dict[str, list[ValueExample]] = {}
    for issue in row_issues:
        if issue.code == "type_mismatch" and issue.column in columns and issue.row is not None:
            found.setdefault(issue.column, []).append(ValueExample(issue.row, issue.value or ""))
    return [add_examples(p, tuple(found.get(p.name, ()))) for p in profiles]


def _output_exprs(
    layout: _Layout,
    facts: dict[str, profiling.ColumnFacts],
    decimal_comma: bool,
    zone: str,
    date1904: bool,
    use_derived: bool,
    constant: pl.Expr | None,
) -> list[pl.Expr]:
    """__time first, then every other column in file order."""
    time_facts = facts.get(layout.time.column)
    first = time_expr(layout.time, time_facts, zone, date1904, use_derived, constant)
    exprs = [first.dt.epoch("ms").alias(TIME_COLUMN)]
    for spec in layout.columns:
        item = facts[spec.name]
        # The fast pass derived only the guessed conversions; reuse them only where they exist.
        reuse = use_derived and item.is_text and item.speculative is spec.type
        exprs.append(value_expr(spec, item, decimal_comma, zone, reuse).alias(spec.output))
    return exprs


def _serial_range(
    item: profiling.ColumnFacts, date1904: bool, zone: str
) -> tuple[datetime | None, datetime | None]:
    low, high = item.get("num_min"), item.get("num_max")
    if low is None or high is None:
        return None, None
    return ts.serial_to_datetime(low, date1904, zone), ts.serial_to_datetime(high, date1904, zone)


def _time_range(
    facts: dict[str, profiling.ColumnFacts],
    choice: TimestampChoice | None,
    options: ValidateOptions,
    date1904: bool,
    zone: str,
) -> tuple[datetime | None, datetime | None]:
    if choice is None:
        return None, None
    if choice.format == "constant":
        return options.constant_timestamp, options.constant_timestamp
    item = facts[choice.column]
    if choice.format == ts.EXCEL_SERIAL:
        return _serial_range(item, date1904, zone)
    if choice.format == ts.NATIVE:
        return item.get("native_min"), item.get("native_max")
    return item.get(f"ts_min:{choice.format}"), item.get(f"ts_max:{choice.format}")
