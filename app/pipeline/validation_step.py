"""Validating one task's file on this desk: queued -> validating -> needs_review | invalid | on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.domain.store import TaskPatch
from app.domain.tasks import Task, TaskState
from app.domain.transfer import UploadProgress
from app.domain.validation import StagingResult, ValidationReport, Verdict
from app.pipeline import choices as chosen
from app.pipeline.choices import task_choices
from app.services.reading import ReadOptions, UnreadableFileError
from app.services.settings import Settings
from app.services.store import LostRaceError, TaskStore
from app.services.validation import ValidateOptions

log = logging.getLogger(__name__)

# Other clients see validation progress through the store; a write per batch would flood it.
STORE_PROGRESS_INTERVAL_S = 0.5

ProgressCallback = Callable[["ValidationProgress"], None]
CancelCheck = Callable[[], bool]
# Asked once a valid file is staged: None lets it go on to the upload, a sentence holds it in
# needs_review (an earlier ingestion of the same content, a column whose type changed).
UploadGate = Callable[[ValidationReport, StagingResult], "str | None"]


class TaskCancelledError(Exception):
    """The task was cancelled (here or by another client) while this step ran."""


@dataclass(frozen=True, slots=True)
class ValidationProgress:
    task_id: str
    rows: int


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """This desk's upload of a task: bytes, speed and ETA (other desks see only the fraction)."""

    task_id: str
    upload: UploadProgress


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Where validation left the task, the report (None when the file could not be read)."""

    task: Task
    report: ValidationReport | None
    message: str
    # The staged file, when the step was asked to stage (S3 and Druid configured).
    staging: StagingResult | None = None


def upload_configured(settings: Settings) -> bool:
    return bool(settings.s3_bucket and settings.druid_url)


def summarise(report: ValidationReport, *, can_upload: bool) -> str:
    """One line for the shared task row: every client shows it, so it stays short and plain."""
    if report.verdict is Verdict.VALID:
        warnings = len(report.warnings)
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        if can_upload:
            return f"Valid: {report.rows:,} rows{tail}. Ready to upload."
        return (
            f"Valid: {report.rows:,} rows{tail}. "
            "Configure S3 and Druid in Settings to upload."
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


class ValidationStep:
    """Validate one queued task's file; every state change is a compare-and-set in the store."""

    def __init__(self, store: TaskStore, client_id: str, settings: Settings) -> None:
        self._store = store
        self._client_id = client_id
        self._settings = settings

    def run(
        self,
        task: Task,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        read_options: ReadOptions | None = None,
        validate_options: ValidateOptions | None = None,
        stage_dir: Path | None = None,
        gate: UploadGate | None = None,
    ) -> tuple[ValidationResult, Any]:
        """Returns the result and the bad rows (a data frame or None) for "Export errors".

        With `stage_dir` the file is staged in the same read, and a valid file whose `gate`
        raises no objection goes straight on to uploading. A task already in validating (a run
        killed mid-way) is validated again in place: validation has no side effects to undo.
        """
        # Here, not at the top: the window imports this module, Polars loads with the first file.
        from app.services.validation import ScanCancelledError  # noqa: PLC0415

        is_cancelled = cancelled or (lambda: False)
        tasks = self._store.tasks
        if is_cancelled():
            return self._cancel(task, "Cancelled before validation started."), None
        if task.state is TaskState.VALIDATING:
            current = task
        else:
            current = tasks.transition(
                task.id,
                TaskState.VALIDATING,
                expected_state=task.state,
                expected_version=task.version,
                by_client=self._client_id,
                message=f"validating {path.name}",
            )
        remote_cancel = threading.Event()
        last_write = time.monotonic()
        version = current.version  # every write below is checked against the version we last set

        def on_rows(rows: int) -> None:
            nonlocal last_write, version
            if progress is not None:
                progress(ValidationProgress(task.id, rows))
            now = time.monotonic()
            if now - last_write < STORE_PROGRESS_INTERVAL_S:
                return
            last_write = now
            try:
                version = tasks.update(
                    task.id,
                    TaskPatch(rows_validated=rows),
                    expected_state=TaskState.VALIDATING,
                    owner=self._client_id,
                ).version
            except LostRaceError:
                # Someone else moved the task on (cancelled it); stop at the next batch.
                remote_cancel.set()

        def should_stop() -> bool:
            return remote_cancel.is_set() or is_cancelled()

        try:
            outcome, bad_rows, staging = self._validate(
                current, path, on_rows, should_stop, read_options, validate_options, stage_dir
            )
        except ScanCancelledError:
            return self._cancel(tasks.get(task.id), "Cancelled during validation."), None
        except UnreadableFileError as exc:
            message = f"Cannot read the file: {exc.message}"
            patch = TaskPatch(validation_summary=message, error_message=exc.message)
            ended = self._finish(task.id, TaskState.INVALID, version, message, patch)
            return ValidationResult(ended, None, message), None
        except Exception as exc:
            self._fail(task.id, exc)
            raise
        report: ValidationReport = outcome.report
        summary = summarise(report, can_upload=upload_configured(self._settings))
        target = TaskState.INVALID if report.verdict is Verdict.INVALID else TaskState.NEEDS_REVIEW
        if report.verdict is Verdict.VALID and staging is not None:
            hold = gate(report, staging) if gate is not None else None
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
        )
        ended = self._finish(task.id, target, version, summary, patch)
        if ended.state is not target:
            message = ended.validation_summary or summary
            return ValidationResult(ended, report, message, staging), bad_rows
        return ValidationResult(ended, report, summary, staging), bad_rows

    def _finish(
        self, task_id: str, target: TaskState, version: int, message: str, patch: TaskPatch
    ) -> Task:
        try:
            return self._store.tasks.transition(
                task_id,
                target,
                expected_state=TaskState.VALIDATING,
                expected_version=version,
                by_client=self._client_id,
                message=message,
                patch=patch,
            )
        except LostRaceError as race:
            # Cancelled (or otherwise moved on) by someone else while we validated: theirs stands.
            if race.current is None:
                raise
            return race.current

    def _validate(
        self,
        task: Task,
        path: Path,
        on_rows: Callable[[int], None],
        should_stop: CancelCheck,
        read_options: ReadOptions | None = None,
        validate_options: ValidateOptions | None = None,
        stage_dir: Path | None = None,
    ) -> tuple[Any, Any, StagingResult | None]:
        # See run(): Polars and PyArrow load with the first file, not with the window.
        from app.services.reading import open_source  # noqa: PLC0415
        from app.services.staging import StagingOptions, validate_and_stage  # noqa: PLC0415
        from app.services.validation import validate_source  # noqa: PLC0415

        settings = self._settings
        own = task_choices(task)
        read = read_options or chosen.read_options(own, settings)
        options = validate_options or chosen.validate_options(own, settings)
        staging: StagingResult | None = None
        source = open_source(path, read)
        try:
            if stage_dir is not None:
                # The staging file is named after the task, so a rerun overwrites, never adds.
                outcome, staging = validate_and_stage(
                    source, options, stage_dir, task.id, StagingOptions.from_settings(settings),
                    progress=on_rows, cancelled=should_stop,
                )
            else:
                outcome = validate_source(
                    source, options, progress=on_rows, cancelled=should_stop
                )
        finally:
            source.close()
        return outcome, outcome.bad_rows, staging

    def _cancel(self, task: Task, message: str) -> ValidationResult:
        if task.state.is_terminal:
            return ValidationResult(task, None, task.error_message or message)
        try:
            ended = self._store.tasks.transition(
                task.id,
                TaskState.CANCELLED,
                expected_state=task.state,
                expected_version=task.version,
                by_client=self._client_id,
                message=message,
                patch=TaskPatch(validation_summary=message),
            )
        except LostRaceError as race:
            # Another client finished or cancelled it first; its word stands.
            if race.current is None:
                raise
            ended = race.current
        return ValidationResult(ended, None, message)

    def _fail(self, task_id: str, exc: BaseException) -> None:
        message = f"Validation failed unexpectedly: {type(exc).__name__}: {exc}"
        try:
            latest = self._store.tasks.get(task_id)
            if not latest.state.is_terminal:
                self._store.tasks.transition(
                    task_id,
                    TaskState.FAILED,
                    expected_state=latest.state,
                    expected_version=latest.version,
                    by_client=self._client_id,
                    message=message,
                    patch=TaskPatch(error_message=message, validation_summary=message),
                )
        except Exception:
            # The original error matters more; this one only goes to the log.
            log.exception("could not mark task %s as failed", task_id)
