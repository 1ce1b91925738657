"""The steps after the upload: submit the spec, follow the Druid task, prove the rows arrived."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.druid import DruidTaskState, Interval
from app.domain.store import TaskPatch
from app.domain.tasks import IngestMode, Task, TaskState
from app.pipeline.staged import pause_at
from app.services.druid import DruidClient, DruidError, DruidSqlError, IngestionSpec
from app.services.store import LostRaceError, TaskStore

CancelCheck = Callable[[], bool]

# The verification plan rides in the history message of the move to submitting, so any client
# that adopts the task later can verify it without this desk's files.
_PLAN = re.compile(r"verify interval=(\d+)/(\d+) baseline=(\d+) rows=(\d+)")


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What Druid must hold once the task succeeds: `baseline + rows` rows in `interval`.

    For a replace the baseline is 0 (the interval ends up holding exactly the file). For an
    append it is the count taken just before submit: Druid cannot tell which rows of an
    interval one task wrote, so the increase is the best proof available. Another append into
    the same interval at the same moment would show as a mismatch, never as a false success.
    """

    interval: Interval
    baseline: int
    rows: int

    @property
    def expected(self) -> int:
        return self.baseline + self.rows

    def message(self) -> str:
        return (
            f"verify interval={self.interval.start_ms}/{self.interval.end_ms} "
            f"baseline={self.baseline} rows={self.rows}"
        )

    @classmethod
    def parse(cls, text: str | None) -> VerifyPlan | None:
        found = _PLAN.search(text or "")
        if found is None:
            return None
        start, end, baseline, rows = (int(g) for g in found.groups())
        return cls(Interval(start, end), baseline, rows)


class StepStopped(Exception):
    """The task left the state this step works on (cancelled or moved on by another client)."""


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


def plan_for(store: TaskStore, task: Task) -> VerifyPlan | None:
    for event in reversed(store.tasks.history(task.id)):
        plan = VerifyPlan.parse(event.message)
        if plan is not None:
            return plan
    return None


class RemoteSteps:
    """Submitting, ingesting and verifying for one task; each call is safe to repeat."""

    def __init__(
        self,
        store: TaskStore,
        client_id: str,
        druid: DruidClient,
        *,
        poll_interval_s: float = 1.0,
        ingest_timeout_s: float = 3600.0,
        verify_timeout_s: float = 300.0,
    ) -> None:
        self._store = store
        self._client_id = client_id
        self._druid = druid
        self._poll_s = poll_interval_s
        self._ingest_timeout_s = ingest_timeout_s
        self._verify_timeout_s = verify_timeout_s

    def _move(self, task: Task, target: TaskState, message: str, patch: TaskPatch) -> Task:
        try:
            return self._store.tasks.transition(
                task.id,
                target,
                expected_state=task.state,
                expected_version=task.version,
                by_client=self._client_id,
                message=message,
                patch=patch,
            )
        except LostRaceError as race:
            raise StepStopped(str(race)) from race

    def submit(self, task: Task, spec_body: str | None) -> Task:
        """Submit (again): Druid answers "already exists" for our recorded id, which counts."""
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None, "the id is recorded on the way into submitting"
        if spec_body is None:
            # Another desk prepared it; without the spec we can only find out whether it went.
            status = self._druid.task_status(druid_task_id)
            if status.state is DruidTaskState.UNKNOWN:
                return self._move(
                    task,
                    TaskState.FAILED,
                    f"Druid never received task {druid_task_id} and its spec is on the desk "
                    "that uploaded the file: retry the task there.",
                    TaskPatch(error_message="The Druid spec is not on this desk."),
                )
        else:
            sent_spec_id = json.loads(spec_body).get("id")
            if sent_spec_id != druid_task_id:
                raise DruidError(f"the saved spec is for {sent_spec_id}, not {druid_task_id}")
            spec = IngestionSpec(druid_task_id, task.datasource, task.mode, None, spec_body)
            self._druid.submit(spec)
        pause_at("submitted")
        return self._move(
            task,
            TaskState.INGESTING,
            f"Druid accepted task {druid_task_id}",
            TaskPatch(progress=0.0),
        )

    def follow(self, task: Task, cancelled: CancelCheck) -> Task:
        """Poll this task's Druid status (bounded interval) until it ends, then move on."""
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None
        deadline = time.monotonic() + self._ingest_timeout_s
        unknown = 0
        first = True
        while True:
            status = self._druid.task_status(druid_task_id)
            if first:
                pause_at("ingesting")
                first = False
            if status.state is DruidTaskState.SUCCESS:
                return self._move(
                    task, TaskState.VERIFYING, f"Druid task {druid_task_id} succeeded",
                    TaskPatch(progress=1.0),
                )
            if status.state is DruidTaskState.FAILED:
                reason = self._druid.failure_reason(druid_task_id) or status.error_message
                message = f"Druid task {druid_task_id} failed: {reason or 'no reason given'}"
                return self._move(task, TaskState.FAILED, message, TaskPatch(error_message=message))
            # The Overlord may not list a just-submitted task for a moment; a lasting silence
            # means its metadata is gone and nothing will ever finish.
            unknown = unknown + 1 if status.state is DruidTaskState.UNKNOWN else 0
            if unknown >= 30 or time.monotonic() > deadline:
                why = "does not know" if unknown else "has not finished"
                message = f"Druid {why} task {druid_task_id}; the task was given up."
                return self._move(task, TaskState.FAILED, message, TaskPatch(error_message=message))
            current = self._store.tasks.get(task.id)
            if current.state is not TaskState.INGESTING:
                raise StepStopped(f"task is now {current.state}")
            if cancelled():
                raise StepStopped("cancel requested")
            time.sleep(self._poll_s)

    def verify(
        self,
        task: Task,
        plan: VerifyPlan | None,
        expected_rows: int,
        cancelled: CancelCheck | None = None,
    ) -> Task:
        """Druid's own figures: rowStats first, then a SQL count once the segments load."""
        druid_task_id = task.druid_task_id
        assert druid_task_id is not None
        stats = self._druid.reports(druid_task_id)
        if stats.processed != expected_rows or not stats.clean:
            message = (
                f"Druid's figures do not match the file: processed {stats.processed:,} of "
                f"{expected_rows:,} validated rows, unparseable {stats.unparseable:,}, thrown "
                f"away {stats.thrown_away:,}, with errors {stats.processed_with_error:,}."
            )
            if stats.parse_errors:
                message += f" Druid said: {stats.parse_errors[0]}"
            return self._move(task, TaskState.FAILED, message, TaskPatch(error_message=message))
        if plan is None:
            message = f"Druid processed all {stats.processed:,} rows (no SQL check recorded)."
            return self._move(
                task, TaskState.SUCCEEDED, message,
                TaskPatch(rows_ingested=stats.processed, validation_summary=message),
            )
        deadline = time.monotonic() + self._verify_timeout_s
        last_error = ""
        while True:
            # Published segments reach the broker a little after the task ends, and a new
            # table may be listed a moment before the SQL planner can query it.
            try:
                held: int | None = count_rows(self._druid, task.datasource, plan.interval)
            except DruidSqlError as exc:
                held, last_error = None, str(exc)
            if held == plan.expected:
                message = (
                    f"Ingested {stats.processed:,} rows; Druid SQL counts {held:,} in "
                    f"{plan.interval.iso}."
                )
                return self._move(
                    task, TaskState.SUCCEEDED, message,
                    TaskPatch(rows_ingested=stats.processed, validation_summary=message),
                )
            if time.monotonic() > deadline:
                what = "before" if task.mode is IngestMode.APPEND else "replaced"
                counted = f"{held:,}" if held is not None else f"no rows ({last_error})"
                message = (
                    f"Druid SQL counts {counted} rows in {plan.interval.iso}, expected "
                    f"{plan.expected:,} ({plan.baseline:,} {what} + {plan.rows:,} from the "
                    f"file) after {self._verify_timeout_s:g} s; rowStats processed "
                    f"{stats.processed:,}."
                )
                return self._move(task, TaskState.FAILED, message, TaskPatch(error_message=message))
            current = self._store.tasks.get(task.id)
            if current.state is not TaskState.VERIFYING:
                raise StepStopped(f"task is now {current.state}")
            # Checked between polls, so closing the desk does not wait out the whole timeout.
            if cancelled is not None and cancelled():
                raise StepStopped("stopped while verifying; the next run checks again")
            time.sleep(self._poll_s)
