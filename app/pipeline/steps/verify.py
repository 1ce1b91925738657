"""Proving the rows arrived: Druid's task report first, then a SQL count over the plan."""

from __future__ import annotations

import time

from app.domain.druid import Interval, RowStats
from app.domain.store import TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState, VerifyPlan
from app.pipeline.moves import StepStopped, TaskMoves
from app.pipeline.remote_connections import Connections
from app.pipeline.staged import StagingArea, pause_at
from app.pipeline.steps.base import Job, StepOutcome
from app.pipeline.steps.remote_errors import RemoteStep
from app.services.druid import DruidClient, DruidSqlError
from app.services.store import TaskStore


def quoted(datasource: str) -> str:
    return '"' + datasource.replace('"', '""') + '"'


def count_rows(druid: DruidClient, datasource: str, interval: Interval) -> int:
    """Rows Druid serves in `interval`; 0 while the datasource does not exist yet."""
    try:
        result = druid.sql(
            f"SELECT COUNT(*) AS n FROM {quoted(datasource)} "
            "WHERE __time >= MILLIS_TO_TIMESTAMP(?) AND __time < MILLIS_TO_TIMESTAMP(?)",
            [interval.start_ms, interval.end_ms],
        )
    except DruidSqlError:
        if datasource not in druid.datasources():
            return 0
        raise
    value = result.first("n")
    return int(value) if isinstance(value, int | float) else 0


class VerifyStep(RemoteStep):
    """Succeeded means Druid's own figures match: rowStats, then SQL counts in the plan's
    interval. A task without a recorded plan fails; it never succeeds unchecked."""

    name = "verify"

    def __init__(
        self, store: TaskStore, moves: TaskMoves, connections: Connections, staging: StagingArea
    ) -> None:
        super().__init__(store, moves, connections)
        self._staging = staging

    def _run(self, task: Task, job: Job) -> StepOutcome:
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None
        pause_at("verifying")
        plan = task.verify_plan
        if plan is None:
            return self._fail(
                task, job,
                f"No verification plan was recorded for Druid task {druid_task_id} (uploaded "
                "by an older version of Ingest Desk), so Druid SQL cannot confirm the rows; "
                "check the datasource, then retry the task to ingest it again.",
            )
        stats = self._conn.druid.reports(druid_task_id)
        if stats.processed != plan.rows or not stats.clean:
            return self._fail(task, job, _stats_mismatch(stats, plan.rows))
        return self._count(task, plan, stats, job)

    def _count(self, task: Task, plan: VerifyPlan, stats: RowStats, job: Job) -> StepOutcome:
        timeout_s = job.options.verify_timeout_s
        deadline = time.monotonic() + timeout_s
        last_error = ""
        while True:
            # Published segments reach the broker a little after the task ends, and a new
            # table may be listed a moment before the SQL planner can query it.
            try:
                held: int | None = count_rows(self._conn.druid, task.datasource, plan.interval)
            except DruidSqlError as exc:
                held, last_error = None, str(exc)
            if held == plan.expected:
                message = (
                    f"Ingested {stats.processed:,} rows; Druid SQL counts {held:,} in "
                    f"{plan.interval.iso}."
                )
                ended = self._moves.move(
                    task, TaskState.SUCCEEDED, message,
                    TaskPatch(rows_ingested=stats.processed, validation_summary=message),
                )
                # Proven in Druid: the staged copy of the user's rows has no further use here.
                self._staging.succeeded(task.id)
                return StepOutcome(ended, message, job.carry)
            if time.monotonic() > deadline:
                what = "before" if task.mode is IngestMode.APPEND else "replaced"
                counted = f"{held:,}" if held is not None else f"no rows ({last_error})"
                return self._fail(
                    task, job,
                    f"Druid SQL counts {counted} rows in {plan.interval.iso}, expected "
                    f"{plan.expected:,} ({plan.baseline:,} {what} + {plan.rows:,} from the "
                    f"file) after {timeout_s:g} s; rowStats processed {stats.processed:,}.",
                )
            current = self._store.tasks.get(task.id)
            if current.state is not TaskState.VERIFYING:
                raise StepStopped(f"task is now {current.state}")
            # Checked between polls, so closing the desk does not wait out the whole timeout.
            if job.cancelled():
                raise StepStopped("stopped while verifying; the next run checks again")
            time.sleep(job.options.poll_interval_s)

    def _fail(self, task: Task, job: Job, message: str) -> StepOutcome:
        ended = self._moves.move(task, TaskState.FAILED, message, TaskPatch(error_message=message))
        return StepOutcome(ended, message, job.carry)


def _stats_mismatch(stats: RowStats, expected_rows: int) -> str:
    message = (
        f"Druid's figures do not match the file: processed {stats.processed:,} of "
        f"{expected_rows:,} validated rows, unparseable {stats.unparseable:,}, thrown "
        f"away {stats.thrown_away:,}, with errors {stats.processed_with_error:,}."
    )
    if stats.parse_errors:
        message += f" Druid said: {stats.parse_errors[0]}"
    return message
