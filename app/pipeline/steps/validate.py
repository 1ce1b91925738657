"""Validating a task's file on this desk: queued -> validating -> needs_review | invalid | on.

With S3 and Druid configured the same read stages the file, and a valid file that the upload
gate does not hold goes straight on to uploading. A task found in validating (a run killed
mid-way) is validated again in place: validation has no side effects to undo.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.domain.validation import StagingResult, ValidationIssue, ValidationReport, Verdict
from app.pipeline import choices as chosen
from app.pipeline.choices import IngestOptions
from app.pipeline.moves import TaskMoves
from app.pipeline.read_estimate import estimate_read
from app.pipeline.staged import StagingArea
from app.pipeline.steps.base import Carry, Job, Pool, StepOutcome, ValidationProgress
from app.pipeline.summary import summarise
from app.services.reading import UnreadableFileError
from app.services.settings import Settings
from app.services.store import report_codec

# Other clients see validation progress through the store; a write per batch would flood it.
STORE_PROGRESS_INTERVAL_S = 0.5


class Gate(Protocol):
    """Asked once a valid file is staged: None lets it go on, a sentence holds it for review."""

    def __call__(self, staging: StagingResult) -> str | None: ...

    def warnings(self, report: ValidationReport) -> list[ValidationIssue]: ...


# Made per task before the file is read (the duplicate question needs no file).
GateFactory = Callable[[Task, IngestOptions], Gate]


@dataclass(frozen=True, slots=True)
class _Checked:
    """What one read of the file produced."""

    report: ValidationReport
    bad_rows: Any
    staging: StagingResult | None


class ValidateStep:
    """Read every row, build the report, stage when the desk can upload, settle the state."""

    name = "validate"
    pool = Pool.CPU

    def __init__(
        self,
        moves: TaskMoves,
        settings: Settings,
        staging: StagingArea,
        gate_factory: GateFactory | None = None,
    ) -> None:
        """Without `gate_factory` (no S3 and Druid) files are validated, not staged."""
        self._moves = moves
        self._settings = settings
        self._staging = staging
        self._gate_factory = gate_factory

    def run(self, task: Task, job: Job) -> StepOutcome:
        # Here, not at the top: the window imports this module, Polars loads with the first file.
        from app.services.validation import ScanCancelledError  # noqa: PLC0415

        assert job.path is not None, "the runner only validates where the file is"
        if job.cancelled():
            ended = self._moves.cancel(task.id, "Cancelled before validation started.").task
            return StepOutcome(ended, "Cancelled.", Carry())
        gate = self._gate(task, job)
        current = task
        if task.state is not TaskState.VALIDATING:
            # Progress starts again (a retried task may show an earlier stage's fraction).
            current = self._moves.move(
                task, TaskState.VALIDATING, f"validating {job.path.name}", TaskPatch(progress=0.0)
            )
        progress = _ProgressWriter(self._moves, current, job)
        try:
            checked = self._check(current, job, progress)
        except ScanCancelledError:
            ended = self._moves.cancel(task.id, "Cancelled during validation.").task
            return StepOutcome(ended, "Cancelled.", Carry())
        except UnreadableFileError as exc:
            message = f"Cannot read the file: {exc.message}"
            patch = TaskPatch(validation_summary=message, error_message=exc.message)
            ended = self._settle(task.id, TaskState.INVALID, progress.version, message, patch)
            return StepOutcome(ended, message, Carry())
        except Exception as exc:
            message = f"Validation failed unexpectedly: {type(exc).__name__}: {exc}"
            self._moves.fail(task.id, message, summary=True)
            raise
        return self._finish(task, checked, gate, progress.version)

    def _gate(self, task: Task, job: Job) -> Gate | None:
        if self._gate_factory is None:
            return None
        return self._gate_factory(task, job.options)

    def _check(self, task: Task, job: Job, progress: _ProgressWriter) -> _Checked:
        # See run(): Polars and PyArrow load with the first file, not with the window.
        from app.services.reading import open_source  # noqa: PLC0415
        from app.services.staging import StagingOptions, validate_and_stage  # noqa: PLC0415
        from app.services.validation import validate_source  # noqa: PLC0415

        assert job.path is not None
        own = chosen.task_choices(task)
        read = job.options.read or chosen.read_options(own, self._settings)
        options = job.options.validate or chosen.validate_options(own, self._settings)
        source = open_source(job.path, read)
        try:
            _unchanged_since_added(task, source.opened_as.size if source.opened_as else None)
            if self._gate_factory is None:
                outcome = validate_source(
                    source, options, progress=progress, cancelled=progress.should_stop
                )
                return _Checked(outcome.report, outcome.bad_rows, None)
            files = self._staging.files(task.id)
            # The staging file is named after the task, so a rerun overwrites, never adds.
            outcome, staging = validate_and_stage(
                source, options, files.prepare(), task.id,
                StagingOptions.from_settings(self._settings),
                progress=progress, cancelled=progress.should_stop,
            )
            if staging is not None:
                files.save_staging(staging)
                files.seal()
                self._staging.tidy_quietly()
            return _Checked(outcome.report, outcome.bad_rows, staging)
        finally:
            source.close()

    def _finish(
        self, task: Task, checked: _Checked, gate: Gate | None, version: int
    ) -> StepOutcome:
        report, staging = checked.report, checked.staging
        if gate is not None and report.verdict is Verdict.VALID:
            # Said before the upload: what Druid will do to values the file leaves blank.
            report = replace(report, issues=(*report.issues, *gate.warnings(report)))
        summary = summarise(report, can_upload=self._gate_factory is not None)
        target = _verdict_state(report.verdict, uploads=self._gate_factory is not None)
        if report.verdict is Verdict.VALID and staging is not None and gate is not None:
            hold = gate(staging)
            if hold is None:
                target = TaskState.UPLOADING
                summary = summary.replace("Ready to upload.", "Uploading.")
            else:
                summary = hold
        patch = TaskPatch(
            progress=1.0,
            rows_validated=report.rows,
            validation_summary=summary,
            error_message=summary if target is TaskState.INVALID else None,
            # Every desk shows it, after any restart (bounded: see report_codec).
            report=report_codec.encode(report),
        )
        ended = self._settle(task.id, target, version, summary, patch)
        message = summary if ended.state is target else (ended.validation_summary or summary)
        return StepOutcome(ended, message, Carry(report, staging, checked.bad_rows))

    def _settle(
        self, task_id: str, target: TaskState, version: int, message: str, patch: TaskPatch
    ) -> Task:
        # Cancelled (or otherwise moved on) by someone else while we validated: theirs stands.
        return self._moves.settle(
            task_id, target, expected=TaskState.VALIDATING, version=version, message=message,
            patch=patch,
        )


def _unchanged_since_added(task: Task, size_now: int | None) -> None:
    """The content validated must be the content hashed when the file was added."""
    if size_now is not None and size_now != task.file_size:
        raise UnreadableFileError(
            "changed_since_added",
            f"{task.file_name} changed since it was added ({task.file_size:,} bytes then, "
            f"{size_now:,} now); add it again.",
        )


def _verdict_state(verdict: Verdict, *, uploads: bool) -> TaskState:
    """Where a verdict leaves the task before the upload gate is asked."""
    if verdict is Verdict.INVALID:
        return TaskState.INVALID
    if verdict is Verdict.VALID and not uploads:
        return TaskState.READY  # valid; waits for S3 and Druid, not for a person
    return TaskState.NEEDS_REVIEW


class _ProgressWriter:
    """Rows read: to this desk at once, to the store (other desks) every half second.

    With them the estimated fraction of the file read (task.progress), from the file's average
    line length: the window derives MB per second and time left from it on every desk.
    """

    def __init__(self, moves: TaskMoves, task: Task, job: Job) -> None:
        self._moves = moves
        self._task_id = task.id
        self._progress = job.progress
        self._cancelled: Callable[[], bool] = job.cancelled
        self._remote_cancel = threading.Event()
        self._last_write = time.monotonic()
        # Here, on the worker: it reads the file's first MiB.
        self._estimate = estimate_read(job.path) if job.path is not None else None
        # Every later write is checked against the version this run last set.
        self.version = task.version

    def __call__(self, rows: int) -> None:
        fraction = self._estimate.fraction_at(rows) if self._estimate is not None else None
        if self._progress is not None:
            self._progress(ValidationProgress(self._task_id, rows, fraction))
        now = time.monotonic()
        if now - self._last_write < STORE_PROGRESS_INTERVAL_S:
            return
        self._last_write = now
        written = self._moves.record(
            self._task_id, TaskPatch(rows_validated=rows, progress=fraction), TaskState.VALIDATING
        )
        if written is None:
            # Someone else moved the task on (cancelled it); stop at the next batch.
            self._remote_cancel.set()
        else:
            self.version = written.version

    def should_stop(self) -> bool:
        return self._remote_cancel.is_set() or self._cancelled()
