"""The one line about a validated file that every desk shows in the shared task row."""

from __future__ import annotations

from app.domain.validation import ValidationReport, Verdict
from app.services.settings import Settings


def upload_configured(settings: Settings) -> bool:
    return bool(settings.s3_bucket and settings.druid_url)


def summarise(report: ValidationReport, *, can_upload: bool) -> str:
    """Short and plain: every client shows it."""
    if report.verdict is Verdict.VALID:
        warnings = len(report.warnings)
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        if can_upload:
            return f"Valid: {report.rows:,} rows{tail}. Ready to upload."
        return (
            f"Valid: {report.rows:,} rows{tail}. Ready to upload once S3 and Druid are set "
            "in Settings."
        )
    if report.verdict is Verdict.NEEDS_REVIEW:
        if report.pending:
            return f"Needs a decision: {report.pending[0].question}"
        return f"Needs review: {report.rows:,} rows."
    errors = report.errors
    first = errors[0] if errors else None
    where = f"row {first.row}: " if first is not None and first.row is not None else ""
    detail = f" First: {where}{first.message}" if first is not None else ""
    return (
        f"Invalid: {len(errors):,} error{'s' if len(errors) != 1 else ''} in "
        f"{report.rows_with_errors:,} of {report.rows:,} rows.{detail}"
    )

