"""Serialise a validation report to JSON, and export the bad rows to a workbook users can open."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from app.domain.validation import CellValue, ColumnProfile, ValidationIssue, ValidationReport


def _cell(value: CellValue) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and math.isnan(value):  # NaN is not JSON
        return None
    return value


def _as_read(value: CellValue) -> Any:
    # A workbook's zone-less datetime is shown as written, not presumed to be UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.isoformat()
    return _cell(value)


def _column(profile: ColumnProfile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "type": profile.type.value,
        "evidence": profile.evidence,
        "nulls": profile.nulls,
        "distinct": profile.distinct_estimate,
        "min": _cell(profile.minimum),
        "max": _cell(profile.maximum),
        "overridden": profile.overridden,
        # Values that do not fit the type (each a row issue), and null markers read as empty.
        "misfits": profile.misfits,
        "null_markers": [{"marker": m.marker, "count": m.count} for m in profile.null_markers],
    }


def report_to_dict(report: ValidationReport) -> dict[str, Any]:
    """The stable automation format printed by `ingest-desk validate --json`."""
    timestamp = report.timestamp
    return {
        "file": str(report.file),
        "verdict": report.verdict.value,
        "rows": report.rows,
        "kind": report.kind.value,
        "sheet": report.sheet,
        "sheets": [{"name": s.name, "rows": s.rows, "columns": s.columns} for s in report.sheets],
        "timestamp_column": timestamp.column if timestamp and timestamp.column else None,
        "timestamp": None
        if timestamp is None
        else {
            "column": timestamp.column or None,
            "format": timestamp.format,
            "date_order": timestamp.date_order.value if timestamp.date_order else None,
            "zone": timestamp.zone,
            "reason": timestamp.reason,
        },
        "columns": [_column(c) for c in report.columns],
        "issues": [
            {
                "severity": i.severity.value,
                "code": i.code,
                "row": i.row,
                "column": i.column,
                "value": i.value,
                "message": i.message,
            }
            for i in report.issues
        ],
        "pending_decisions": [
            {
                "code": p.code,
                "column": p.column,
                "question": p.question,
                "options": list(p.options),
                "evidence": p.evidence,
            }
            for p in report.pending
        ],
        "rows_with_errors": report.rows_with_errors,
        "encoding": report.decision("encoding"),
        "delimiter": report.decision("delimiter"),
        "header_row": _int_or_none(report.decision("header_row")),
        "decisions": [
            {"name": d.name, "value": d.value, "reason": d.reason} for d in report.decisions
        ],
        # The first rows as read (values untyped, in the order of "columns").
        "preview": [
            {"row": row.row, "values": [_as_read(v) for v in row.values]} for row in report.preview
        ],
        "rows_per_day": [{"date": d.day.isoformat(), "rows": d.rows} for d in report.rows_per_day],
    }


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def report_to_json(report: ValidationReport, indent: int | None = 2) -> str:
    return json.dumps(report_to_dict(report), indent=indent, ensure_ascii=False)


# OWASP's CSV-injection advice: a cell starting with one of these is a formula (or becomes
# one) when a spreadsheet opens the file, so it is written with a leading apostrophe.
_FORMULA_START = r"^[=+\-@\t\r]"
# A plain number such as -12.5 cannot run anything; it keeps its sign and stays a number.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def csv_safe(text: str) -> str:
    """`text` as a CSV cell that a spreadsheet shows as text, never evaluates."""
    if re.match(_FORMULA_START, text) and not re.fullmatch(_PLAIN_NUMBER, text):
        return "'" + text
    return text


def _csv_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    safe = frame.with_columns(
        pl.when(
            pl.col(name).str.contains(_FORMULA_START)
            & ~pl.col(name).str.contains(_PLAIN_NUMBER)
        )
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )
    # The header comes from the file too; a clash after escaping (`=a` next to `'=a`) keeps
    # the original name rather than writing two columns with one name.
    names = [csv_safe(name) for name in frame.columns]
    if len(set(names)) == len(names):
        safe = safe.rename(dict(zip(frame.columns, names, strict=True)))
    return safe


def export_bad_rows(bad_rows: pl.DataFrame, target: Path) -> Path:
    """Write the bad rows with a reason column: .xlsx for Excel users, otherwise CSV."""
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = bad_rows.with_columns(
        [
            pl.col(name).cast(pl.String)
            for name, dtype in bad_rows.schema.items()
            if isinstance(dtype, (pl.Datetime, pl.Date, pl.Duration, pl.Time))
        ]
    )
    if target.suffix.lower() == ".xlsx":
        # Cells from the file are text: xlsxwriter would otherwise turn `http://...` cells into
        # live links (and could be asked to read `=...` as formulas or `1e5` as numbers).
        workbook = xlsxwriter.Workbook(
            str(target),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        try:
            frame.write_excel(
                workbook, worksheet="Rows with errors", autofit=True, freeze_panes=(1, 0)
            )
        finally:
            workbook.close()
    else:
        # A BOM lets Excel recognise UTF-8 when the user double-clicks the CSV.
        _csv_safe_frame(frame).write_csv(target, include_bom=True)
    return target


def export_issues(issues: Sequence[ValidationIssue], target: Path) -> Path:
    """The issues themselves (row, column, value, message), when the rows are not at hand: a
    stored report's sample, on a desk without the file."""
    frame = pl.DataFrame(
        {
            "row": [issue.row for issue in issues],
            "column": [issue.column for issue in issues],
            "value": [issue.value for issue in issues],
            "severity": [issue.severity.value for issue in issues],
            "message": [issue.message for issue in issues],
        },
        schema={"row": pl.Int64, "column": pl.String, "value": pl.String,
                "severity": pl.String, "message": pl.String},
    )
    return export_bad_rows(frame, target)
