"""Tasks whose source file is on this desk: created, validated, carried on, their reports kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.domain.store import NewTask, TaskPatch
from app.domain.tasks import Task, TaskState
from app.domain.transfer import UploadProgress
from app.domain.validation import DateOrder, ValidationReport
from app.pipeline.adoption import take_over_readded
from app.pipeline.choices import (
    IngestChoices,
    ingest_options,
    read_options,
    task_choices,
    validate_options,
)
from app.pipeline.intake import datasource_slug, file_sha256
from app.pipeline.validation_step import (
    CancelCheck,
    ProgressCallback,
    TaskCancelledError,
    TransferProgress,
    ValidationProgress,
    ValidationResult,
    ValidationStep,
    summarise,
    upload_configured,
)
from app.services.settings import Settings
from app.services.store import TaskStore

__all__ = [
    "CancelCheck",
    "LocalPipeline",
    "ProgressCallback",
    "TaskCancelledError",
    "TransferProgress",
    "ValidationProgress",
    "ValidationResult",
    "ValidationStep",
    "summarise",
    "upload_configured",
]


class LocalPipeline:
    """Tasks whose source file is on this desk: create them, validate them, keep their reports.

    Full reports (and the bad rows for export) stay in memory, keyed by task id: they can be large,
    they name local paths, and only this desk has the file. The shared row carries a one-line
    summary that every client can show.
    """

    def __init__(self, store: TaskStore, client_id: str, settings: Settings) -> None:
        self._store = store
        self._client_id = client_id
        self._settings = settings
        self._step = ValidationStep(store, client_id, settings)
        self._lock = threading.Lock()
        self._paths: dict[str, Path] = {}
        # What the user chose on the drop, beside the path: this desk's validation reads by it.
        self._choices: dict[str, IngestChoices] = {}
        self._reports: dict[str, ValidationReport] = {}
        self._bad_rows: dict[str, Any] = {}
        self._ingest: Any = None  # an IngestPipeline once S3 and Druid are configured

    def attach_ingest(self, ingest: Any) -> None:
        """With S3 and Druid configured, `validate` carries a valid file on into Druid.

        Typed loosely because app.pipeline.ingest builds on this module (no import cycle).
        """
        self._ingest = ingest

    @property
    def ingest(self) -> Any:
        """The attached IngestPipeline, or None while S3 and Druid are not configured."""
        return self._ingest

    @property
    def client_id(self) -> str:
        return self._client_id

    def enqueue(
        self,
        path: Path,
        choices: IngestChoices | None = None,
        *,
        datasource: str | None = None,
        sheet: str | None = None,
    ) -> Task:
        """Hash the file and create its queued task (reads the whole file: call off the GUI).

        Without `choices`: the slugged file name, append, and the sheet the reader picks.
        The same file and choices as an unfinished task whose desk is gone (closed or killed
        while validating or uploading) take that task over, so it resumes instead of doubling.
        """
        if choices is None:
            choices = IngestChoices(datasource or datasource_slug(path.name), sheet=sheet)
        sha256 = file_sha256(path)
        task = take_over_readded(
            self._store, self._client_id, datasource=choices.datasource, sha256=sha256,
            mode=choices.mode, sheet=choices.sheet, can_upload=self._ingest is not None,
        )
        if task is None:
            draft = NewTask(
                file_name=path.name,
                file_size=path.stat().st_size,
                sha256=sha256,
                source_client=self._client_id,
                datasource=choices.datasource,
                mode=choices.mode,
                sheet=choices.sheet,
            )
            task = self._store.tasks.create(draft, by_client=self._client_id)
        with self._lock:
            self._paths[task.id] = path
            self._choices[task.id] = choices
        return task

    def source_path(self, task_id: str) -> Path | None:
        with self._lock:
            return self._paths.get(task_id)

    def choices(self, task_id: str) -> IngestChoices | None:
        with self._lock:
            return self._choices.get(task_id)

    def validate(
        self,
        task_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        on_upload: Callable[[TransferProgress], None] | None = None,
        stop_when_staged: bool = False,
        confirmed: bool = False,
    ) -> ValidationResult:
        """Validate (and, with S3 and Druid, go on into Druid) the file of a task on this desk.

        `stop_when_staged` hands a staged file back in uploading (see `carry_on`); `confirmed`
        is the user's yes to what held the task in needs_review (an earlier ingestion of the
        same content, a changed column type).
        """
        path = self.source_path(task_id)
        if path is None:
            raise FileNotFoundError(f"this desk does not hold the file of task {task_id}")
        task = self._store.tasks.get(task_id)
        choices = self.choices(task_id)
        if self._ingest is not None:
            options = replace(
                ingest_options(choices, self._settings),
                stop_when_staged=stop_when_staged,
                allow_duplicate=confirmed,
                allow_drift=confirmed,
            )
            outcome = self._ingest.run(
                task, path, options, progress=progress, cancelled=cancelled,
                on_upload=self._upload_listener(task_id, on_upload),
            )
            result = ValidationResult(
                outcome.task, outcome.report, outcome.message, outcome.staging
            )
            bad_rows = None  # an ingested file had none; an invalid one is re-validated locally
        else:
            result, bad_rows = self._step.run(
                task,
                path,
                progress=progress,
                cancelled=cancelled,
                read_options=read_options(choices, self._settings) if choices else None,
                validate_options=validate_options(choices, self._settings) if choices else None,
            )
        with self._lock:
            if result.report is not None:
                self._reports[task_id] = result.report
            else:
                self._reports.pop(task_id, None)
            if bad_rows is not None:
                self._bad_rows[task_id] = bad_rows
            else:
                self._bad_rows.pop(task_id, None)
        return result

    def carry_on(
        self,
        task_id: str,
        *,
        cancelled: CancelCheck | None = None,
        on_upload: Callable[[TransferProgress], None] | None = None,
    ) -> ValidationResult:
        """From uploading to the end: upload, submit, follow and verify (the report stays)."""
        if self._ingest is None:
            raise RuntimeError("S3 and Druid are not configured on this desk")
        path = self.source_path(task_id)
        task = self._store.tasks.get(task_id)
        outcome = self._ingest.run(
            task, path, ingest_options(self.choices(task_id), self._settings),
            cancelled=cancelled, on_upload=self._upload_listener(task_id, on_upload),
        )
        return ValidationResult(outcome.task, self.report(task_id), outcome.message)

    @staticmethod
    def _upload_listener(
        task_id: str, on_upload: Callable[[TransferProgress], None] | None
    ) -> Callable[[UploadProgress], None] | None:
        if on_upload is None:
            return None
        return lambda tick: on_upload(TransferProgress(task_id, tick))

    @property
    def uploads(self) -> bool:
        """Whether valid files go on into Druid from this desk (S3 and Druid configured)."""
        return self._ingest is not None

    def decide_date_order(self, task_id: str, order: DateOrder) -> None:
        """The user's answer to "day first or month first?"; the next validate() uses it."""
        current = self.choices(task_id) or task_choices(self._store.tasks.get(task_id))
        with self._lock:
            self._choices[task_id] = replace(current, date_order=order)

    def report(self, task_id: str) -> ValidationReport | None:
        with self._lock:
            return self._reports.get(task_id)

    def has_bad_rows(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._bad_rows

    def export_errors(self, task_id: str, target: Path) -> Path:
        # Polars loads with the first validation, not with the window that imports this module.
        from app.services.report_export import export_bad_rows  # noqa: PLC0415

        with self._lock:
            bad_rows = self._bad_rows.get(task_id)
        if bad_rows is None:
            raise LookupError("This task has no rows with errors to export.")
        return export_bad_rows(bad_rows, target)

    def cancel(self, task_id: str) -> Task:
        """Cancel a task that no worker of ours is running (queued, or waiting for a decision)."""
        task = self._store.tasks.get(task_id)
        if task.state.is_terminal:
            return task
        return self._store.tasks.transition(
            task_id,
            TaskState.CANCELLED,
            expected_state=task.state,
            expected_version=task.version,
            by_client=self._client_id,
            message="Cancelled by the user.",
            patch=TaskPatch(validation_summary="Cancelled by the user."),
        )

    def retry(self, task_id: str) -> Task:
        """Back to the queue for a fresh attempt; the caller then validates it again."""
        if self.source_path(task_id) is None:
            raise FileNotFoundError(
                "Only the desk that added this file can retry it (the file is not here)."
            )
        task = self._store.tasks.get(task_id)
        return self._store.tasks.retry(
            task_id,
            expected_state=task.state,
            expected_version=task.version,
            by_client=self._client_id,
            message="retried by the user",
        )
