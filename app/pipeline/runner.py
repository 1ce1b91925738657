"""The one runner: moves a task through its steps, hands each step's result to the next, and
says which pool (CPU or network) the next step needs, so callers only schedule."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.tasks import Task, TaskState
from app.domain.validation import StagingResult, ValidationReport
from app.pipeline.choices import IngestOptions
from app.pipeline.moves import StepCancelled, StepFailed, StepStopped, TaskMoves
from app.pipeline.staged import StagingArea, default_work_dir
from app.pipeline.steps.base import (
    CancelCheck,
    Carry,
    Job,
    Pool,
    ProgressCallback,
    Step,
    StepOutcome,
    UploadCallback,
)
from app.pipeline.steps.validate import ValidateStep
from app.services.settings import Settings
from app.services.store import TaskStore

if TYPE_CHECKING:
    from app.pipeline.remote_connections import Connections

log = logging.getLogger(__name__)

# States a desk works on with the file alone (validation); the rest need S3 and Druid.
_LOCAL_STATES = (TaskState.QUEUED, TaskState.VALIDATING, TaskState.NEEDS_REVIEW)
_MAX_STEPS = 20  # a task has at most eight states to pass; more means two clients fight over it


@dataclass(frozen=True, slots=True)
class RunResult:
    """Where a run left the task, one sentence for the user, and what comes next.

    `next_pool` is set when the task goes on in a step that needs the other pool: the caller
    schedules `advance` there with `carry` (the staged file in hand, never read back).
    """

    task: Task
    message: str
    carry: Carry = field(default_factory=Carry)
    next_pool: Pool | None = None

    @property
    def report(self) -> ValidationReport | None:
        return self.carry.report

    @property
    def staging(self) -> StagingResult | None:
        return self.carry.staging


class Runner:
    """Drives one task from whatever state it is in to its end, to a person's decision, or to
    the hand-over to the other pool. Without S3 and Druid it validates only."""

    def __init__(
        self,
        store: TaskStore,
        client_id: str,
        settings: Settings,
        connections: Connections | None = None,
        *,
        work_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._connections = connections
        work_dir = work_dir or default_work_dir()
        self.moves = TaskMoves(store, client_id)
        self.staging = StagingArea(work_dir, store.tasks.find, settings.staging_cap_mb << 20)
        self._stage: Step | None = None
        if connections is None:
            validate = ValidateStep(self.moves, settings, self.staging)
            # The state -> step table: a new step or state goes here (and in domain.tasks).
            self._table: dict[TaskState, Step] = dict.fromkeys(_LOCAL_STATES, validate)
        else:
            self._table = self._remote_table(store, settings, connections, work_dir)

    def _remote_table(
        self, store: TaskStore, settings: Settings, connections: Connections, work_dir: Path
    ) -> dict[TaskState, Step]:
        # Here, not at the top: these steps pull in boto3 and httpx, which a desk without S3
        # and Druid never loads.
        from app.pipeline.steps.follow import FollowStep  # noqa: PLC0415
        from app.pipeline.steps.gate import UploadGate  # noqa: PLC0415
        from app.pipeline.steps.stage import StageStep  # noqa: PLC0415
        from app.pipeline.steps.submit import SubmitStep  # noqa: PLC0415
        from app.pipeline.steps.upload import UploadStep  # noqa: PLC0415
        from app.pipeline.steps.verify import VerifyStep  # noqa: PLC0415

        def gate(task: Task, options: IngestOptions) -> UploadGate:
            return UploadGate(store, connections, task, options)

        validate = ValidateStep(self.moves, settings, self.staging, gate)
        self._stage = StageStep(settings, self.staging)
        return {
            **dict.fromkeys(_LOCAL_STATES, validate),
            # Valid on a desk without S3 and Druid: validated and staged again, then uploaded.
            TaskState.READY: validate,
            TaskState.UPLOADING: UploadStep(store, self.moves, connections),
            TaskState.SUBMITTING: SubmitStep(store, self.moves, connections, work_dir),
            TaskState.INGESTING: FollowStep(store, self.moves, connections),
            TaskState.VERIFYING: VerifyStep(store, self.moves, connections, self.staging),
        }

    @property
    def client_id(self) -> str:
        return self.moves.client_id

    @property
    def connections(self) -> Connections | None:
        """S3 and Druid; None while they are not configured (files are validated only)."""
        return self._connections

    @property
    def uploads(self) -> bool:
        return self._connections is not None

    def step_for(self, task: Task, job: Job) -> Step | None:
        """The step that moves `task` on, or None when the run ends here."""
        state = task.state
        if state.is_terminal:
            return None
        if state is TaskState.NEEDS_REVIEW and not job.answered:
            return None  # waits for a person's answer
        if state is TaskState.INGESTING and not job.options.wait:
            return None  # accepted by Druid: any desk (or a later --wait) follows it
        source_bound = state.needs_source_file or state is TaskState.NEEDS_REVIEW
        if source_bound and job.path is None:
            return None
        if state is TaskState.UPLOADING and job.carry.staging is None and self._stage:
            return self._stage
        return self._table.get(state)

    def find_duplicate(
        self, datasource: str, sha256: str, task_id: str | None = None
    ) -> str | None:
        """A sentence when this content already went into `datasource` (S3 and Druid only);
        StepFailed when S3 cannot be asked."""
        if self._connections is None:
            return None
        from app.pipeline.steps.gate import find_duplicate  # noqa: PLC0415 - see _remote_table
        from app.pipeline.steps.remote_errors import translated  # noqa: PLC0415

        with translated():
            return find_duplicate(self._store, self._connections, datasource, sha256, task_id)

    def run(
        self,
        task: Task,
        path: Path | None,
        options: IngestOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        on_upload: UploadCallback | None = None,
        answered: bool = True,
    ) -> RunResult:
        """Every step in this thread (the command line, the follower, tests).

        A direct run is the user's own command, so by default a task waiting in needs_review
        is validated again with these options (`--allow-drift` after a hold, for example).
        """
        job = Job(
            path, options or IngestOptions(), cancelled or (lambda: False), progress, on_upload,
            answered,
        )
        return self.advance(task.id, job)

    def advance(self, task_id: str, job: Job, *, pool: Pool | None = None) -> RunResult:
        """Run steps while they belong to `pool` (any pool when None)."""
        task = self._store.tasks.get(task_id)
        message = ""
        for _ in range(_MAX_STEPS):
            if task.state.is_terminal:
                return RunResult(task, message or _final_message(task), job.carry)
            if job.cancelled():
                return self._cancelled(task, job)
            step = self.step_for(task, job)
            if step is None:
                return RunResult(task, message or _waiting_message(task, job), job.carry)
            if pool is not None and step.pool is not pool:
                return RunResult(task, message, job.carry, next_pool=step.pool)
            outcome = self._step(step, task, job)
            if outcome is None:
                return self._cancelled(task, job)
            message = outcome.message
            job = replace(job, carry=outcome.carry, answered=False)
            task = self._store.tasks.get(task_id)
        return RunResult(task, f"Stopped in {task.state}: other clients keep moving it.", job.carry)

    def _step(self, step: Step, task: Task, job: Job) -> StepOutcome | None:
        """The step's outcome; None for the user's cancel; a failure ends the task."""
        try:
            return step.run(task, job)
        except StepStopped as stop:
            log.info("task %s: %s stopped: %s", task.id, step.name, stop)
            if job.cancelled():
                return None
            return StepOutcome(self._store.tasks.get(task.id), str(stop), job.carry)
        except StepCancelled:
            return None
        except StepFailed as failure:
            failed = self.moves.fail(task.id, failure.message)
            return StepOutcome(failed, failure.message, job.carry)

    def _cancelled(self, task: Task, job: Job) -> RunResult:
        outcome = self.moves.cancel(task.id, "Cancelled by the user.", self._connections)
        return RunResult(outcome.task, "Cancelled.", job.carry)


def _final_message(task: Task) -> str:
    if task.state is TaskState.SUCCEEDED:
        return task.validation_summary or "Succeeded."
    return task.error_message or task.validation_summary or str(task.state)


def _waiting_message(task: Task, job: Job) -> str:
    if task.state is TaskState.INGESTING:
        return f"Submitted as Druid task {task.druid_task_id}."
    if task.state.needs_source_file and job.path is None:
        return "Only the desk holding the source file can go on."
    if task.state is TaskState.READY:
        return "Valid; it goes on once S3 and Druid are set in Settings."
    return task.validation_summary or str(task.state)
