"""`ingest-desk validate` and `ingest-desk stage`: the data engine without a window."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import click

from app.commands.progress_line import ProgressLine
from app.commands.reading_flags import (
    check_delimiter,
    check_encoding,
    check_header_row,
    check_timezone,
    normal_delimiter,
    template_problem,
)
from app.commands.terminal import echo_decisions, printable
from app.domain.validation import DateOrder, ValidationReport, Verdict
from app.pipeline.read_estimate import estimate_read
from app.services.reading import ReadOptions, UnreadableFileError, open_source
from app.services.report_export import export_bad_rows, report_to_dict, report_to_json
from app.services.settings import Settings, load_settings
from app.services.staging import StagingOptions, validate_and_stage
from app.services.template_files import TemplateError, load_template
from app.services.validation import ValidateOptions, validate_source

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
_MAX_PRINTED_ISSUES = 40
# Reasons, messages and values (already cut to 200 characters in the report) fit here.
_LONG = 400


@dataclass(frozen=True, slots=True)
class _Inputs:
    read: ReadOptions
    validate: ValidateOptions


def _common_options(func: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--sheet", help="Workbook sheet to read (default: the one with most data)."),
        click.option(
            "--template",
            "template_path",
            type=click.Path(path_type=Path),
            help="JSON or TOML template with column rules.",
        ),
        click.option("--datasource", help="Druid datasource name to check."),
        click.option(
            "--date-order",
            type=click.Choice([o.value for o in DateOrder]),
            help="How to read dates such as 03/04/2024.",
        ),
        click.option("--timestamp-column", help="Column to use as Druid's __time."),
        click.option(
            "--constant-timestamp",
            type=click.DateTime(),
            help="Give every row this timestamp (files without a date column).",
        ),
        click.option(
            "--timezone",
            callback=check_timezone,
            help="Zone for timestamps written without one (default UTC).",
        ),
        click.option(
            "--encoding", callback=check_encoding, help="Override the detected text encoding."
        ),
        click.option(
            "--delimiter",
            callback=check_delimiter,
            help="Override the detected delimiter (one character; \\t or tab for a tab).",
        ),
        click.option(
            "--header-row",
            type=int,
            callback=check_header_row,
            help="Override the detected header row (1-based).",
        ),
        click.option(
            "--max-error-rows",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Rows with errors that may be left out instead of failing the file.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _inputs(kwargs: dict[str, object], settings: Settings | None = None) -> _Inputs:
    settings = settings or load_settings()
    template = None
    template_path = kwargs.get("template_path")
    if isinstance(template_path, Path):
        template = load_template(template_path)
    sheet = kwargs.get("sheet") or (template.sheet if template else None)
    # The template's reading corrections apply unless a flag overrides them.
    if template is not None and isinstance(template_path, Path):
        # The flags are checked by click; a template's corrections get the same checks here.
        problem = template_problem(
            template.encoding, template.delimiter, template.timezone, template.header_row
        )
        if problem:
            raise TemplateError(f"{template_path.name}: {problem}")
    delimiter = kwargs.get("delimiter") or (template.delimiter if template else None)
    if isinstance(delimiter, str):
        delimiter = normal_delimiter(delimiter)
    header_row = kwargs.get("header_row") or (template.header_row if template else None)
    encoding = kwargs.get("encoding") or (template.encoding if template else None)
    read = replace(
        ReadOptions.for_settings(settings, str(sheet) if sheet else None),
        encoding=str(encoding) if encoding else None,
        delimiter=str(delimiter) if delimiter else None,
        header_row=header_row if isinstance(header_row, int) else None,
    )
    constant = kwargs.get("constant_timestamp")
    order = kwargs.get("date_order")
    validate = replace(
        ValidateOptions.for_settings(
            settings,
            datasource=str(kwargs["datasource"]) if kwargs.get("datasource") else None,
            template=template,
            date_order=DateOrder(str(order)) if order else None,
            timestamp_column=str(kwargs["timestamp_column"])
            if kwargs.get("timestamp_column")
            else None,
        ),
        timezone=str(kwargs.get("timezone") or settings.default_timezone),
        constant_timestamp=constant if isinstance(constant, datetime) else None,
        max_error_rows=int(kwargs.get("max_error_rows") or 0),  # type: ignore[call-overload]
    )
    return _Inputs(read, validate)


def _exit_code(report: ValidationReport) -> int:
    return EXIT_VALID if report.verdict is Verdict.VALID else EXIT_INVALID


def _print_report(report: ValidationReport) -> None:
    # Names, values and evidence come from the file: printed escaped and cut, never raw.
    echo = click.echo
    echo(f"File:    {printable(report.file, _LONG)}")
    if report.sheet:
        others = ", ".join(
            f"{printable(s.name)} ({s.rows:,} rows)"
            for s in report.sheets
            if s.name != report.sheet
        )
        sheet_line = f"Sheet:   {printable(report.sheet)}"
        echo(sheet_line + (f"   other sheets: {others}" if others else ""))
    echo(f"Rows:    {report.rows:,}")
    echo_decisions(report.decisions, _LONG)
    echo("Columns:")
    for column in report.columns:
        span = ""
        if column.minimum is not None:
            span = f" [{printable(column.minimum, _LONG)} .. {printable(column.maximum, _LONG)}]"
        echo(f"  {printable(column.name):<24} {column.type.value:<9} nulls={column.nulls:<6}{span}")
        echo(f"  {'':<24} {printable(column.evidence, _LONG)}")
    if report.timestamp:
        t = report.timestamp
        label = printable(t.column) if t.column else "(constant)"
        echo(f"Timestamp: {label} - {printable(t.reason, _LONG)}; times without a zone are read "
             f"as {t.zone}")
    for pending in report.pending:
        echo(f"DECISION NEEDED: {printable(pending.question, _LONG)}")
        echo(
            f"  {printable(pending.evidence, _LONG)}. Re-run with "
            + " or ".join(f"--date-order {option}" for option in pending.options)
        )
    shown = report.issues[:_MAX_PRINTED_ISSUES]
    for issue in shown:
        where = []
        if issue.row is not None:
            where.append(f"row {issue.row}")
        if issue.column:
            where.append(f"column '{printable(issue.column)}'")
        prefix = f"{issue.severity.value.upper()}" + (f" ({', '.join(where)})" if where else "")
        echo(f"{prefix}: {printable(issue.message, _LONG)}")
    if len(report.issues) > len(shown):
        echo(f"... and {len(report.issues) - len(shown)} more issues (use --json for all).")
    errors = report.rows_with_errors
    echo(
        f"Verdict: {report.verdict.value.upper()}"
        + (f" ({errors:,} rows with errors)" if errors else "")
    )


def _unreadable(exc: UnreadableFileError | TemplateError, as_json: bool, path: Path) -> None:
    code = exc.code if isinstance(exc, UnreadableFileError) else "bad_template"
    message = str(exc)
    if as_json:
        click.echo(report_to_json_unreadable(path, code, message))
    else:
        click.echo(f"Cannot read {printable(path.name)}: {printable(message, _LONG)}", err=True)
    sys.exit(EXIT_UNREADABLE)


def report_to_json_unreadable(path: Path, code: str, message: str) -> str:
    import json  # noqa: PLC0415

    return json.dumps(
        {
            "file": str(path),
            "verdict": Verdict.UNREADABLE.value,
            "code": code,
            "message": message,
            "rows": 0,
            "issues": [
                {
                    "severity": "error",
                    "code": code,
                    "row": None,
                    "column": None,
                    "value": None,
                    "message": message,
                }
            ],
        },
        indent=2,
    )


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@_common_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for automation.")
@click.option(
    "--export-errors",
    type=click.Path(path_type=Path),
    help="Write the rows with errors and a reason column (.xlsx or .csv).",
)
def validate_command(
    file: Path, as_json: bool, export_errors: Path | None, **kwargs: object
) -> None:
    """Check every row of FILE. Exit 0 valid, 1 invalid or needs a decision, 2 unreadable."""
    try:
        inputs = _inputs(kwargs)
        source = open_source(file, inputs.read)
    except (UnreadableFileError, TemplateError) as exc:
        _unreadable(exc, as_json, file)
        return
    try:
        outcome = validate_source(source, inputs.validate)
    except UnreadableFileError as exc:
        _unreadable(exc, as_json, file)
        return
    finally:
        source.close()
    report = outcome.report
    if export_errors and outcome.bad_rows is not None:
        export_bad_rows(outcome.bad_rows, export_errors)
    if as_json:
        payload = report_to_dict(report)
        if export_errors:
            payload["exported_errors"] = (
                str(export_errors) if outcome.bad_rows is not None else None
            )
        import json  # noqa: PLC0415

        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _print_report(report)
        if export_errors and outcome.bad_rows is not None:
            click.echo(f"Rows with errors written to {export_errors}")
    sys.exit(_exit_code(report))


@click.command("stage")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the staging file.",
)
@click.option(
    "--format",
    "staging_format",
    type=click.Choice(["ndjson.zst", "ndjson.gz", "parquet"]),
    default=None,
    help="Staging format (default from settings: ndjson.zst).",
)
@_common_options
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Rows and MB per second on stderr while the file is read (default: on a terminal).",
)
def stage_command(
    file: Path,
    out_dir: Path,
    staging_format: str | None,
    as_json: bool,
    show_progress: bool | None,
    **kwargs: object,
) -> None:
    """Validate FILE and write the typed staging file Druid will read into --out."""
    settings = load_settings()
    try:
        inputs = _inputs(kwargs, settings)
        source = open_source(file, inputs.read)
    except (UnreadableFileError, TemplateError) as exc:
        _unreadable(exc, as_json, file)
        return
    fmt = staging_format or settings.staging_format
    meter = None
    if show_progress if show_progress is not None else sys.stderr.isatty():
        meter = ProgressLine(sys.stderr, estimate_read(file))
    try:
        outcome, result = validate_and_stage(
            source,
            inputs.validate,
            out_dir,
            # The whole name: `sales.2024.csv` and `sales.2025.csv` must not share an output.
            file.name,
            StagingOptions(format=fmt),  # type: ignore[arg-type]
            progress=meter,
        )
    except UnreadableFileError as exc:
        _unreadable(exc, as_json, file)
        return
    finally:
        source.close()
        if meter is not None:
            meter.finish()
    if result is None:
        if as_json:
            click.echo(report_to_json(outcome.report))
        else:
            _print_report(outcome.report)
            click.echo("Not staged: fix the errors or make the decision above.", err=True)
        sys.exit(EXIT_INVALID)
    figures = {
        "path": str(result.path),
        "format": result.format,
        "rows": result.rows,
        "excluded_rows": result.excluded_rows,
        "bytes": result.bytes,
        "sha256": result.sha256,
        "min_time_ms": result.min_time_ms,
        "max_time_ms": result.max_time_ms,
    }
    if as_json:
        import json  # noqa: PLC0415

        click.echo(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            click.echo(f"{key:<14} {value}")
    sys.exit(EXIT_VALID)
