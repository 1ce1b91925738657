"""The validation report as the task store keeps it: bounded JSON any desk can read back.

The bound. A report is stored with at most 20 issues per column (and 20 without a column), 500
in all, 5 value examples per column, the 20 preview rows with cells cut at 200 characters, and
rows per day (by month past ten years of days). Whatever the file, the JSON stays under
MAX_BYTES (64 KiB): past it the preview, then the examples, then issues beyond 5 per column go.
Measured by bench/report_store.py: a typical report is a few KiB, and 100,000 stored tasks
cost the task list nothing (reports are read on demand, one task at a time).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.domain.validation import (
    CellValue,
    ColumnProfile,
    ColumnType,
    DateOrder,
    DayCount,
    NullMarkerCount,
    PendingDecision,
    PreviewRow,
    Severity,
    SheetInfo,
    SniffDecision,
    SourceKind,
    TimestampChoice,
    ValidationIssue,
    ValidationReport,
    ValueExample,
    Verdict,
)

MAX_BYTES = 64 * 1024
ISSUES_PER_COLUMN = 20
ISSUES_IN_ALL = 500
EXAMPLES_PER_COLUMN = 5
CELL_CHARS = 200
DAYS_KEPT = 3660
FORMAT = 1  # bumped when the shape changes; decode() refuses what it does not know


def _cell(value: CellValue) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON (and PostgreSQL's json) has no NaN or infinity
    if isinstance(value, str) and len(value) > CELL_CHARS:
        return value[:CELL_CHARS] + "…"
    return value


def _uncell(value: Any) -> CellValue:
    if isinstance(value, dict) and "dt" in value:
        return datetime.fromisoformat(str(value["dt"]))
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _issue(issue: ValidationIssue) -> dict[str, Any]:
    return {
        "severity": issue.severity.value, "code": issue.code, "message": issue.message,
        "row": issue.row, "column": issue.column,
        "value": issue.value[:CELL_CHARS] if issue.value else issue.value,
    }


def _column(profile: ColumnProfile, examples: int) -> dict[str, Any]:
    return {
        "name": profile.name, "source_name": profile.source_name, "type": profile.type.value,
        "evidence": profile.evidence, "nulls": profile.nulls,
        "distinct_estimate": profile.distinct_estimate,
        "minimum": _cell(profile.minimum), "maximum": _cell(profile.maximum),
        "disagreeing": profile.disagreeing, "overridden": profile.overridden,
        "misfits": profile.misfits,
        "examples": [[e.row, e.value[:CELL_CHARS]] for e in profile.examples[:examples]],
        "null_markers": [[m.marker, m.count] for m in profile.null_markers],
    }


def sample_issues(
    issues: tuple[ValidationIssue, ...], per_column: int = ISSUES_PER_COLUMN
) -> list[ValidationIssue]:
    """The first `per_column` issues of each column (in file order), at most ISSUES_IN_ALL."""
    seen: Counter[str | None] = Counter()
    kept: list[ValidationIssue] = []
    for issue in issues:
        if seen[issue.column] < per_column and len(kept) < ISSUES_IN_ALL:
            kept.append(issue)
        seen[issue.column] += 1
    return kept


def _days(days: tuple[DayCount, ...]) -> list[list[Any]]:
    if len(days) <= DAYS_KEPT:
        return [[d.day.isoformat(), d.rows] for d in days]
    months: Counter[date] = Counter()
    for item in days:
        months[item.day.replace(day=1)] += item.rows
    return [[day.isoformat(), rows] for day, rows in sorted(months.items())]


def encode(report: ValidationReport) -> dict[str, Any]:
    """The report in at most MAX_BYTES of JSON (see the module's note on what is kept)."""
    for per_column, examples, preview in ((ISSUES_PER_COLUMN, EXAMPLES_PER_COLUMN, True),
                                         (ISSUES_PER_COLUMN, EXAMPLES_PER_COLUMN, False),
                                         (ISSUES_PER_COLUMN, 0, False),
                                         (5, 0, False)):
        doc = _encode(report, per_column, examples, preview)
        if len(json.dumps(doc, ensure_ascii=False).encode()) <= MAX_BYTES:
            return doc
    return doc  # the smallest form; only a file with thousands of columns gets here


def _encode(
    report: ValidationReport, per_column: int, examples: int, preview: bool
) -> dict[str, Any]:
    issues = sample_issues(report.issues, per_column)
    stamp = report.timestamp
    return {
        "format": FORMAT,
        "file": str(report.file), "kind": report.kind.value, "verdict": report.verdict.value,
        "rows": report.rows, "sheet": report.sheet,
        "sheets": [[s.name, s.rows, s.columns, s.visible] for s in report.sheets],
        "columns": [_column(c, examples) for c in report.columns],
        "timestamp": None if stamp is None else {
            "column": stamp.column, "format": stamp.format,
            "date_order": stamp.date_order.value if stamp.date_order else None,
            "zone": stamp.zone, "parsed": stamp.parsed, "failed": stamp.failed,
            "reason": stamp.reason,
        },
        "issues": [_issue(i) for i in issues],
        "issues_omitted": report.issues_omitted + len(report.issues) - len(issues),
        "decisions": [[d.name, d.value, d.reason] for d in report.decisions],
        "pending": [
            {"code": p.code, "column": p.column, "question": p.question,
             "options": list(p.options), "evidence": p.evidence}
            for p in report.pending
        ],
        "rows_with_errors": report.rows_with_errors,
        "error_rows_truncated": report.error_rows_truncated,
        "preview": [[p.row, [_cell(v) for v in p.values]] for p in report.preview]
        if preview else [],
        "rows_per_day": _days(report.rows_per_day),
    }


def decode(doc: dict[str, Any]) -> ValidationReport:
    """The stored report back as the domain's value; ValueError for a shape this app does not
    know (a newer app stored it)."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"stored report format {doc.get('format')!r} is not {FORMAT}")
    stamp = doc.get("timestamp")
    return ValidationReport(
        file=Path(doc["file"]), kind=SourceKind(doc["kind"]), verdict=Verdict(doc["verdict"]),
        rows=int(doc["rows"]), sheet=doc.get("sheet"),
        sheets=tuple(SheetInfo(n, r, c, v) for n, r, c, v in doc.get("sheets", [])),
        columns=tuple(_decode_column(c) for c in doc.get("columns", [])),
        timestamp=None if stamp is None else TimestampChoice(
            column=stamp["column"], format=stamp["format"],
            date_order=DateOrder(stamp["date_order"]) if stamp.get("date_order") else None,
            zone=stamp["zone"], parsed=stamp["parsed"], failed=stamp["failed"],
            reason=stamp["reason"],
        ),
        issues=tuple(
            ValidationIssue(Severity(i["severity"]), i["code"], i["message"], i.get("row"),
                            i.get("column"), i.get("value"))
            for i in doc.get("issues", [])
        ),
        decisions=tuple(SniffDecision(n, v, r) for n, v, r in doc.get("decisions", [])),
        pending=tuple(
            PendingDecision(p["code"], p.get("column"), p["question"], tuple(p["options"]),
                            p["evidence"])
            for p in doc.get("pending", [])
        ),
        rows_with_errors=int(doc.get("rows_with_errors", 0)),
        error_rows_truncated=bool(doc.get("error_rows_truncated")),
        preview=tuple(
            PreviewRow(row, tuple(_uncell(v) for v in values))
            for row, values in doc.get("preview", [])
        ),
        rows_per_day=tuple(
            DayCount(date.fromisoformat(day), rows) for day, rows in doc.get("rows_per_day", [])
        ),
        issues_omitted=int(doc.get("issues_omitted", 0)),
    )


def _decode_column(data: dict[str, Any]) -> ColumnProfile:
    return ColumnProfile(
        name=data["name"], source_name=data["source_name"], type=ColumnType(data["type"]),
        evidence=data["evidence"], nulls=data["nulls"],
        distinct_estimate=data["distinct_estimate"],
        minimum=_uncell(data.get("minimum")), maximum=_uncell(data.get("maximum")),
        disagreeing=data.get("disagreeing", 0),
        examples=tuple(ValueExample(row, value) for row, value in data.get("examples", [])),
        overridden=bool(data.get("overridden")), misfits=data.get("misfits", 0),
        null_markers=tuple(NullMarkerCount(m, n) for m, n in data.get("null_markers", [])),
    )
