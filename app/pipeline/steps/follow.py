"""Following a Druid task to its end through the desk's one bulk status poller."""

from __future__ import annotations

import time

from app.domain.druid import DruidTaskState, DruidTaskStatus
from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.pipeline.moves import StepFailed, StepStopped
from app.pipeline.staged import pause_at
from app.pipeline.steps.base import Job, StepOutcome
from app.pipeline.steps.remote_errors import RemoteStep
from app.services.druid import DruidError

# The Overlord may not list a just-submitted task for a moment; this many answers in a row
# without it mean its metadata is gone and nothing will ever finish.
_UNKNOWN_ANSWERS = 30
# A waiter that hears nothing for this many poll intervals (the Overlord unreachable) looks
# at why; the poller itself keeps trying.
_SILENT_INTERVALS = 20
_MIN_SILENCE_S = 5.0


class FollowStep(RemoteStep):
    """Waits for Druid's answers (one bulk request per interval for every followed task)."""

    name = "follow"

    def _run(self, task: Task, job: Job) -> StepOutcome:
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None
        options = job.options
        poller = self._conn.poller(options.poll_interval_s)
        silence_s = max(_MIN_SILENCE_S, _SILENT_INTERVALS * options.poll_interval_s)
        deadline = time.monotonic() + options.ingest_timeout_s
        unknown = 0
        last: DruidTaskStatus | None = None
        try:
            while True:
                status = poller.wait_for_change(
                    druid_task_id, last, timeout_s=silence_s, cancelled=job.cancelled
                )
                if job.cancelled():
                    raise StepStopped("cancel requested")
                if status is None:
                    if poller.last_error:
                        raise StepFailed(poller.last_error)
                else:
                    if last is None:
                        pause_at("ingesting")
                    last = status
                    ended = self._ended(task, status, job)
                    if ended is not None:
                        return ended
                    if status.state is DruidTaskState.RUNNING:
                        self._show_progress(task, druid_task_id)
                    unknown = unknown + 1 if status.state is DruidTaskState.UNKNOWN else 0
                if unknown >= _UNKNOWN_ANSWERS or time.monotonic() > deadline:
                    why = "does not know" if unknown else "has not finished"
                    message = f"Druid {why} task {druid_task_id}; the task was given up."
                    failed = self._moves.move(
                        task, TaskState.FAILED, message, TaskPatch(error_message=message)
                    )
                    return StepOutcome(failed, message, job.carry)
                current = self._store.tasks.get(task.id)
                if current.state is not TaskState.INGESTING:
                    raise StepStopped(f"task is now {current.state}")
                task = current  # progress writes moved its version on
        finally:
            poller.forget(druid_task_id)

    def _show_progress(self, task: Task, druid_task_id: str) -> None:
        """Druid's rows processed so far (its live task report), as the task's progress."""
        rows = task.rows_validated
        if not rows:
            return
        try:
            processed = self._conn.druid.reports(druid_task_id).processed
        except DruidError:
            return  # no live report yet (the task is starting, or a parallel supervisor)
        if processed > 0:
            fraction = min(1.0, processed / rows)
            self._moves.record(task.id, TaskPatch(progress=fraction), TaskState.INGESTING)

    def _ended(self, task: Task, status: DruidTaskStatus, job: Job) -> StepOutcome | None:
        druid_task_id = status.id
        if status.state is DruidTaskState.SUCCESS:
            message = f"Druid task {druid_task_id} succeeded"
            moved = self._moves.move(task, TaskState.VERIFYING, message, TaskPatch(progress=1.0))
            return StepOutcome(moved, message, job.carry)
        if status.state is DruidTaskState.FAILED:
            reason = self._conn.druid.failure_reason(druid_task_id) or status.error_message
            message = f"Druid task {druid_task_id} failed: {reason or 'no reason given'}"
            failed = self._moves.move(
                task, TaskState.FAILED, message, TaskPatch(error_message=message)
            )
            return StepOutcome(failed, message, job.carry)
        return None
