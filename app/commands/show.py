"""`ingest-desk show ID`: a task's stored report and history, from any desk, in a terminal."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from app.commands.terminal import echo_decisions, printable
from app.domain.store import TaskEvent
from app.domain.tasks import Task
from app.domain.validation import ValidationReport
from app.pipeline.session import ClientRole, DeskSession
from app.pipeline.tasks import find_task
from app.services.settings import load_settings

_MAX_ISSUES = 40
# Summaries, reasons and values (already cut to 200 characters in the report) fit here.
_LONG = 400


@click.command("show")
@click.argument("task_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for automation.")
def show_command(task_id: str, as_json: bool) -> None:
    """Print a task's verdict, issues, columns, reading decisions and history."""
    session = DeskSession.open(load_settings(), role=ClientRole.COMMAND_LINE)
    try:
        try:
            task = find_task(session.store, task_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        report = session.pipeline.stored_report(task.id)
        history = session.store.tasks.history(task.id)
        stored = session.store.tasks.report(task.id)
    finally:
        session.close()
    if as_json:
        click.echo(json.dumps(_as_dict(task, stored, history), indent=2, ensure_ascii=False))
    else:
        _print(task, report, history)
    sys.exit(0)


def _as_dict(task: Task, stored: dict[str, Any] | None, history: list[TaskEvent]) -> dict[str, Any]:
    return {
        "id": task.id, "file_name": task.file_name, "state": task.state.value,
        "datasource": task.datasource, "mode": task.mode.value, "sha256": task.sha256,
        "source_path": task.source_path, "summary": task.validation_summary,
        "error": task.error_message, "rows_validated": task.rows_validated,
        "rows_ingested": task.rows_ingested, "druid_task_id": task.druid_task_id,
        "report": stored,
        "history": [
            {"at": e.at.isoformat(), "kind": e.kind.value,
             "from": e.from_state.value if e.from_state else None, "to": e.to_state.value,
             "by": e.by_client, "message": e.message}
            for e in history
        ],
    }


def _print(task: Task, report: ValidationReport | None, history: list[TaskEvent]) -> None:
    echo = click.echo
    echo(f"Task:       {task.id}")
    # Everything below was written by another desk or read from a file: printed escaped.
    echo(f"File:       {printable(task.file_name)}"
         + (f" ({printable(task.source_path, _LONG)})" if task.source_path else ""))
    echo(f"Datasource: {printable(task.datasource)} ({task.mode})")
    echo(f"State:      {task.state}")
    if task.validation_summary or task.error_message:
        echo(f"Summary:    {printable(task.error_message or task.validation_summary, _LONG)}")
    if report is None:
        echo("No validation report is stored for this task.")
    else:
        _print_report(report)
    echo("History:")
    for event in history:
        moved = f"{event.from_state} -> {event.to_state}" if event.from_state else event.to_state
        echo(f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.kind:<10} {moved}"
             + (f"  {printable(event.message, _LONG)}" if event.message else ""))


def _print_report(report: ValidationReport) -> None:
    echo = click.echo
    echo(f"Verdict:    {report.verdict.value.upper()}, {report.rows:,} rows"
         + (f", {report.rows_with_errors:,} with errors" if report.rows_with_errors else ""))
    echo_decisions(report.decisions, _LONG)
    echo("Columns:")
    for column in report.columns:
        echo(f"  {printable(column.name):<24} {column.type.value:<9} "
             f"{printable(column.evidence, _LONG)}")
    for pending in report.pending:
        echo(f"DECISION NEEDED: {printable(pending.question, _LONG)} "
             f"({printable(pending.evidence, _LONG)})")
    for issue in report.issues[:_MAX_ISSUES]:
        where = ", ".join(
            part for part in (
                f"row {issue.row}" if issue.row is not None else "",
                f"column '{printable(issue.column)}'" if issue.column else "",
                f"value '{printable(issue.value, _LONG)}'" if issue.value else "",
            ) if part
        )
        echo(f"{issue.severity.value.upper()}" + (f" ({where})" if where else "")
             + f": {printable(issue.message, _LONG)}")
    more = len(report.issues) - _MAX_ISSUES + report.issues_omitted
    if more > 0:
        echo(f"... and {more:,} more issues (--json shows the stored ones; the desk with the "
             "file exports them all).")
