"""`ingest-desk ingest | tasks | cancel | retry | doctor`: the whole pipeline without a window."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from app.commands.problems import SetupProblem
from app.commands.terminal import printable
from app.domain.druid import SegmentGranularity
from app.domain.store import TaskChange
from app.domain.tasks import IngestMode, Task, TaskState
from app.domain.validation import DateOrder
from app.pipeline.choices import (
    IngestChoices,
    IngestOptions,
    choices_from_template,
    ingest_options,
)
from app.pipeline.doctor import Check, run_checks
from app.pipeline.intake import file_sha256
from app.pipeline.open_uploads import survey_uploads
from app.pipeline.runner import RunResult
from app.pipeline.session import ClientRole, DeskSession
from app.pipeline.staged import pause_at
from app.pipeline.steps.base import Job, Pool
from app.pipeline.tasks import create_task, find_task, find_unfinished
from app.services.druid import SpecOptions
from app.services.settings import load_settings
from app.services.template_files import TemplateError, load_template

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 3
_MAX_WARNINGS = 10
# Summaries and Druid's reasons run longer than a name, but still fit a terminal line or two.
_MESSAGE_LIMIT = 400


@contextmanager
def _session(*, need_remote: bool) -> Iterator[DeskSession]:
    """The same session the window opens (the same settings, the keyring's database password),
    as the command line's own client. Database, S3 and Druid errors go up to the command
    group, which prints them as one line (app.commands.problems)."""
    session = DeskSession.open(load_settings(), role=ClientRole.COMMAND_LINE)
    try:
        if need_remote and session.connections is None:
            raise SetupProblem(
                "S3 and Druid are not configured",
                "Set INGEST_DESK_S3_BUCKET and INGEST_DESK_DRUID_URL (or use Settings in the "
                "window); `ingest-desk doctor` shows what is missing.",
            )
        yield session
    finally:
        session.close()


def _checks_failed(checks: Sequence[Check]) -> SetupProblem:
    """doctor's one stderr line (exit 4): which checks failed; their FAIL lines say why."""
    failed = [check.name for check in checks if not check.ok]
    return SetupProblem(f"{len(failed)} of {len(checks)} checks failed ({', '.join(failed)})",
                        "See the FAIL lines above.")


def _line(task: Task, message: str | None = None) -> str:
    # Names and messages come from files and other desks: printed escaped, never as raw bytes
    # a terminal would act on.
    text = message or task.error_message or task.validation_summary or ""
    return (
        f"{task.id[:8]}  {task.state:<12} {printable(task.datasource):<24} "
        f"{printable(task.file_name)}  {printable(text, _MESSAGE_LIMIT)}"
    )


@click.command("ingest")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--datasource", required=True, help="Druid datasource to load the rows into.")
@click.option(
    "--mode", type=click.Choice([m.value for m in IngestMode]), default="append", show_default=True,
    help="append adds rows; replace overwrites the file's time interval (whole days).",
)
@click.option("--wait", is_flag=True, help="Follow the Druid task and verify the rows landed.")
@click.option("--sheet", help="Workbook sheet to read (default: the one with most data).")
@click.option("--date-order", type=click.Choice([o.value for o in DateOrder]))
@click.option("--template", "template_path", type=click.Path(path_type=Path))
@click.option("--allow-duplicate", is_flag=True, help="Ingest even if this content went in before.")
@click.option("--allow-drift", is_flag=True, help="Append even if column types changed.")
@click.option(
    "--await-segments-ms", type=int, envvar="INGEST_DESK_AWAIT_SEGMENTS_MS", default=None,
    help="How long Druid's task waits for its segments to be queryable (default 5 minutes).",
)
@click.option(
    "--verify-timeout", type=float, envvar="INGEST_DESK_VERIFY_TIMEOUT_S", default=300.0,
    show_default=True, help="Seconds to wait for Druid SQL to count the new rows.",
)
@click.option(
    "--segment-granularity", type=click.Choice([g.value for g in SegmentGranularity],
                                               case_sensitive=False),
    help="Druid's time chunk (default: the datasource's own, else fitted to the file's span).",
)
def ingest_command(
    files: tuple[Path, ...],
    datasource: str,
    mode: str,
    wait: bool,
    sheet: str | None,
    date_order: str | None,
    template_path: Path | None,
    allow_duplicate: bool,
    allow_drift: bool,
    await_segments_ms: int | None,
    verify_timeout: float,
    segment_granularity: str | None,
) -> None:
    """Validate, stage, upload and ingest FILE... into Druid (a rerun resumes where it stopped)."""
    try:
        template = load_template(template_path) if template_path else None
    except TemplateError as exc:
        raise click.ClickException(str(exc)) from exc
    spec = SpecOptions() if await_segments_ms is None else SpecOptions(
        await_segments_ms=await_segments_ms
    )
    # A template brings its own choices (reading corrections, granularity); flags win.
    base = choices_from_template(template, datasource) if template else IngestChoices(datasource)
    choices = replace(
        base,
        datasource=datasource,
        mode=IngestMode(mode),
        sheet=sheet or base.sheet,
        date_order=DateOrder(date_order) if date_order else base.date_order,
        segment_granularity=(
            SegmentGranularity(segment_granularity.upper()) if segment_granularity
            else base.segment_granularity
        ),
    )
    worst = EXIT_OK
    with _session(need_remote=True) as session:
        options = replace(
            ingest_options(choices, session.settings),
            allow_duplicate=allow_duplicate,
            allow_drift=allow_drift,
            wait=wait,
            spec=spec,
            verify_timeout_s=verify_timeout,
        )
        for path in files:
            worst = max(worst, _ingest_one(session, path, choices, options))
    sys.exit(worst)


def _ingest_one(
    session: DeskSession, path: Path, choices: IngestChoices, options: IngestOptions
) -> int:
    store, client_id, runner = session.store, session.client.id, session.runner
    sha256 = file_sha256(path)
    task = find_unfinished(store, client_id, choices, sha256)
    name = printable(path.name)
    if task is not None:
        click.echo(f"{name}: resuming task {task.id[:8]} from {task.state}")
    else:
        if not options.allow_duplicate:
            duplicate = runner.find_duplicate(choices.datasource, sha256)
            if duplicate:
                click.echo(f"{name}: refused. {printable(duplicate, _MESSAGE_LIMIT)} Use "
                           "--allow-duplicate to ingest it again.", err=True)
                return EXIT_REFUSED
        task = create_task(store, client_id, path, choices, sha256)
        click.echo(f"{name}: task {task.id} created")
    result = _run_in_two_halves(session, task, path, options)
    click.echo(_line(result.task, result.message))
    ended = result.task.state
    if ended is TaskState.SUCCEEDED or (ended is TaskState.INGESTING and not options.wait):
        return EXIT_OK
    return EXIT_FAILED


def _run_in_two_halves(
    session: DeskSession, task: Task, path: Path, options: IngestOptions
) -> RunResult:
    """Read, check and stage first, say what Druid will do to the file, then upload and go on:
    the same runner the window uses, with its pools as the two halves."""
    job = Job(path, options, answered=True)
    read = session.runner.advance(task.id, job, pool=Pool.CPU)
    shown = read.report.warnings[:_MAX_WARNINGS] if read.report else ()
    for issue in shown:
        click.echo(f"{path.name}: warning: {issue.message}", err=True)
    if read.next_pool is None:
        return read
    return session.runner.advance(task.id, replace(job, carry=read.carry, answered=False))


@click.command("tasks")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in TaskState]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per task.")
@click.option("--watch", is_flag=True, help="Then print every change as it happens (Ctrl-C ends).")
@click.option("--limit", type=int, default=50, show_default=True)
def tasks_command(states: tuple[str, ...], as_json: bool, watch: bool, limit: int) -> None:
    """List tasks (newest first), optionally following changes live."""
    wanted = {TaskState(s) for s in states} or None
    try:
        _list_and_watch(wanted, as_json, watch, limit)
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends, whenever it comes (even before the watch began): a quiet
        # stop with exit 0, not click's "Aborted!" and exit 1.
        return


def _list_and_watch(
    wanted: set[TaskState] | None, as_json: bool, watch: bool, limit: int
) -> None:
    with _session(need_remote=False) as session:
        # Before the listing: the feed starts with every task as it is (its opening resync);
        # those versions, and the listed ones, are not news, so the watch skips them.
        seen = session.store.tasks.versions() if watch else {}
        for task in session.store.tasks.list_tasks(states=wanted, limit=limit):
            click.echo(_as_json(task) if as_json else _line(task))
            seen[task.id] = max(seen.get(task.id, 0), task.version)
        if not watch:
            return
        pause_at("watch")
        feed = session.store.change_feed(poll_interval_s=0.5)

        def show(change: TaskChange) -> None:
            task = change.task
            if task.version > seen.get(task.id, 0) and (wanted is None or task.state in wanted):
                click.echo(_as_json(task) if as_json else _line(task))

        subscription = feed.subscribe(show)
        feed.start()
        try:
            threading.Event().wait()  # the feed's thread prints; this one waits for Ctrl-C
        finally:
            subscription.cancel()
            feed.stop()


def _as_json(task: Task) -> str:
    return json.dumps(
        {
            "id": task.id, "state": task.state.value, "datasource": task.datasource,
            "mode": task.mode.value, "file_name": task.file_name, "sha256": task.sha256,
            "rows_validated": task.rows_validated, "rows_ingested": task.rows_ingested,
            "s3_uri": task.s3_uri, "druid_task_id": task.druid_task_id,
            "progress": task.progress, "message": task.error_message or task.validation_summary,
            "updated_at": task.updated_at.isoformat(),
        }
    )


@click.command("cancel")
@click.argument("task_id")
def cancel_command(task_id: str) -> None:
    """Cancel a task: its S3 upload is aborted and its Druid task shut down."""
    with _session(need_remote=False) as session:
        try:
            task = find_task(session.store, task_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        outcome = session.runner.moves.cancel(
            task.id, "Cancelled by the user.", session.connections
        )
        click.echo(_line(outcome.task))
        for note in outcome.notes:
            click.echo(f"  {printable(note, _MESSAGE_LIMIT)}")
        if outcome.task.state is not TaskState.CANCELLED:
            sys.exit(EXIT_FAILED)


@click.command("retry")
@click.argument("task_id")
@click.option(
    "--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The source file, to run the retried task at once (same content as before).",
)
@click.option("--wait", is_flag=True, help="With --file: follow Druid and verify.")
def retry_command(task_id: str, path: Path | None, wait: bool) -> None:
    """Queue a failed, cancelled or invalid task again (and run it, given its file)."""
    with _session(need_remote=path is not None) as session:
        try:
            found = find_task(session.store, task_id)
            # The file is checked first: a refused retry leaves the task as it was.
            if path is not None and file_sha256(path) != found.sha256:
                raise click.ClickException(f"{path} is not the file this task was made from.")
            task = session.runner.moves.retry(found.id, "retried from the command line")
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(_line(task, "queued again"))
        if path is None:
            click.echo(f"  Run `ingest-desk ingest {printable(task.file_name)} --datasource "
                       f"{printable(task.datasource)} --mode {task.mode}` on this desk to run it.")
            return
        result = session.runner.run(task, path, IngestOptions(wait=wait, allow_duplicate=True))
        click.echo(_line(result.task, result.message))
        if result.task.state not in (TaskState.SUCCEEDED, TaskState.INGESTING):
            sys.exit(EXIT_FAILED)


@click.command("doctor")
@click.option("--abort-uploads", is_flag=True,
              help="Abort open S3 uploads no task will resume (cancelled, removed, long failed).")
def doctor_command(abort_uploads: bool) -> None:
    """Check the task database, S3 and Druid; exit non-zero when something is wrong."""
    settings = load_settings()
    checks = run_checks(settings)
    uploads: tuple[str, ...] = ()  # one line per open upload, under the checks
    if abort_uploads or any(check.name == "s3" and check.ok for check in checks):
        survey = survey_uploads(settings, abort=abort_uploads)
        checks = (*checks, Check("uploads", survey.ok, survey.message, survey.hint))
        uploads = survey.lines
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"{mark} {check.name:<9} {check.message}")
        if not check.ok and check.hint:
            click.echo(f"     {'':<9} hint: {check.hint}")
    for line in uploads:
        click.echo(f"     {'':<9} {printable(line, _MESSAGE_LIMIT)}")
    if not all(check.ok for check in checks):
        raise _checks_failed(checks)
