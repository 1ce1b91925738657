"""The Druid side of one task for the details panel: status, spec, row counts, log, console link."""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from app.domain.druid import DruidTaskState, RowStats
from app.domain.tasks import Task
from app.pipeline.staged import TaskFiles, default_work_dir

if TYPE_CHECKING:
    # Imported where used: the window imports this module, and an offline desk (no S3 and
    # Druid configured) never loads httpx and boto3.
    from app.pipeline.remote_connections import Connections
    from app.services.druid import DruidClient, DruidError

log = logging.getLogger(__name__)

T = TypeVar("T")

LOG_LINES = 100


class SpecSource(enum.StrEnum):
    """Where the shown spec came from: the Overlord's stored copy, or this desk's own file."""

    OVERLORD = "overlord"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class DruidTaskView:
    """What Druid says about a task, as far as it could be asked; `problem` says why not."""

    task_id: str | None = None  # this app's task the view is about
    druid_task_id: str | None = None
    console_url: str | None = None
    state: DruidTaskState | None = None
    duration_ms: int | None = None
    location: str | None = None
    # Druid's own words for a failure (stack frames removed), and the end of its task log.
    error_message: str | None = None
    ingestion_state: str | None = None
    row_stats: RowStats | None = None
    log_tail: str | None = None
    # True when the log was asked for and Druid keeps none (an Indexer writes no task logs).
    log_missing: bool = False
    spec_json: str | None = None
    spec_source: SpecSource | None = None
    fetched_at: datetime | None = None
    problem: str | None = None
    # Many small segments in the task's interval: what a compaction would do, and its task.
    compaction_advice: str | None = None
    compaction_task: str | None = None


def console_url(druid_url: str, druid_task_id: str) -> str:
    """The Druid web console's view of ingestion tasks, served by the router.

    Druid 25's console keeps a task filter only in memory (its ingestion view reads the task id
    from an in-app jump, not from the address), so no address opens one task; this opens the
    Ingestion view, whose task table the user filters by the id. The id stays in the signature
    so a console version that takes a task address needs no change at the callers.
    """
    del druid_task_id  # see above: Druid 25 has no per-task address
    return f"{druid_url.rstrip('/')}/unified-console.html#ingestion"


def problem_sentence(exc: DruidError, druid_url: str) -> str:
    """One sentence for the user on why Druid could not be asked."""
    from app.services.druid import (  # noqa: PLC0415 - see TYPE_CHECKING above
        DruidAuthError,
        DruidHttpError,
        DruidUnavailableError,
    )

    if isinstance(exc, DruidAuthError):
        return (
            f"Druid at {druid_url} refused this desk's credentials (HTTP {exc.status_code}): "
            f"{exc.druid_message}. Check the Druid user name and password in Settings."
        )
    if isinstance(exc, DruidUnavailableError):
        return f"Druid at {druid_url} could not be reached, so its status is not shown ({exc})."
    if isinstance(exc, DruidHttpError):
        return f"Druid at {druid_url} answered HTTP {exc.status_code}: {exc.druid_message}"
    return f"Druid at {druid_url} could not be asked about this task: {exc}"


def druid_task_view(
    connections: Connections,
    task: Task,
    *,
    stored_spec: str | None = None,
    work_dir: Path | None = None,
    log_lines: int = LOG_LINES,
) -> DruidTaskView:
    """Ask Druid about `task`'s Druid task (blocking: run it off the GUI thread). Druid's own
    errors become `problem`, with the spec the task store keeps (or, for tasks uploaded before
    it did, this desk's saved copy) as the fallback; nothing raises."""
    from app.services.druid import DruidError  # noqa: PLC0415 - see TYPE_CHECKING above

    druid = connections.druid
    druid_id = task.druid_task_id
    if not druid_id:
        return DruidTaskView(task_id=task.id, fetched_at=datetime.now(UTC))
    local = stored_spec or TaskFiles.for_task(work_dir or default_work_dir(), task.id).load_spec()
    base = DruidTaskView(
        task_id=task.id,
        druid_task_id=druid_id,
        console_url=console_url(druid.base_url, druid_id),
        fetched_at=datetime.now(UTC),
    )
    try:
        view = _ask(druid, druid_id, base, local, log_lines)
        return _with_compaction_advice(druid, task, view)
    except DruidError as exc:
        log.info("Druid could not be asked about %s: %s", druid_id, exc)
        spec, source = _local_spec(local)
        return replace(
            base, spec_json=spec, spec_source=source, problem=problem_sentence(exc, druid.base_url)
        )


def _with_compaction_advice(druid: DruidClient, task: Task, view: DruidTaskView) -> DruidTaskView:
    from app.services.druid.compaction import compaction_advice  # noqa: PLC0415 - see top

    plan = task.verify_plan
    if plan is None:
        return view
    advice = compaction_advice(druid, task.datasource, plan.interval)
    if advice is None:
        return view
    return replace(view, compaction_advice=advice.sentence, compaction_task=advice.task_json)


def _ask(
    druid: DruidClient, task_id: str, base: DruidTaskView, local: str | None, log_lines: int
) -> DruidTaskView:
    status = druid.task_status(task_id)
    spec = druid.task_spec(task_id)
    source: SpecSource | None = SpecSource.OVERLORD if spec is not None else None
    if spec is None:  # the Overlord forgot the task (metadata cleaned up) or never had it
        spec, source = _local_spec(local)
    row_stats = ingestion_state = report_error = None
    # None: not started yet, or failed before its report had row counts.
    report, _ = _optional(lambda: druid.report(task_id))
    if report is not None:
        row_stats, ingestion_state = report.row_stats, report.ingestion_state
        report_error = report.error_message
    error = status.error_message or report_error
    log_tail = None
    log_missing = False
    if status.state is DruidTaskState.FAILED:
        reason, _ = _optional(lambda: druid.failure_reason(task_id))
        error = reason or error
        log_tail, answered = _optional(lambda: druid.log_tail(task_id, lines=log_lines))
        log_missing = answered and log_tail is None
    return replace(
        base,
        state=status.state,
        duration_ms=status.duration_ms,
        location=status.location,
        error_message=error,
        ingestion_state=ingestion_state,
        row_stats=row_stats,
        log_tail=log_tail,
        log_missing=log_missing,
        spec_json=spec,
        spec_source=source,
    )


def _optional(read: Callable[[], T | None]) -> tuple[T | None, bool]:
    """A part Druid may fail to give on its own (a worker's live report out of reach, a log
    read that errs): shown as absent, with False for "Druid did not answer". Refused credentials
    and a Druid that cannot be reached at all still end the whole read."""
    from app.services.druid import (  # noqa: PLC0415 - see TYPE_CHECKING above
        DruidAuthError,
        DruidHttpError,
        DruidReportError,
        DruidUnavailableError,
    )

    try:
        return read(), True
    except DruidAuthError:
        raise
    except (DruidHttpError, DruidReportError) as exc:
        if isinstance(exc, DruidHttpError) and exc.status_code == 404:
            return None, True  # Druid's way of saying it has none
        log.info("Druid gave no answer for part of a task view: %s", exc)
        return None, False
    except DruidUnavailableError as exc:
        if exc.status_code is None:
            raise  # not reached at all
        log.info("Druid gave no answer for part of a task view: %s", exc)
        return None, False


def _local_spec(text: str | None) -> tuple[str | None, SpecSource | None]:
    if text is None:
        return None, None
    try:
        return json.dumps(json.loads(text), indent=2), SpecSource.LOCAL
    except ValueError:
        return text, SpecSource.LOCAL  # shown as saved: still the best evidence there is
