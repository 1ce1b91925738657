"""Tasks whose source file is on this desk: their paths, choices and reports, and their runs."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.domain.tasks import Task
from app.domain.validation import DateOrder, ValidationReport
from app.pipeline.choices import IngestChoices, IngestOptions, ingest_options, task_choices
from app.pipeline.intake import datasource_slug, file_sha256
from app.pipeline.moves import CancelOutcome
from app.pipeline.runner import Runner, RunResult
from app.pipeline.steps.base import (
    CancelCheck,
    Carry,
    Job,
    Pool,
    ProgressCallback,
    UploadCallback,
)
from app.pipeline.tasks import Enqueued, enqueue
from app.services.settings import Settings
from app.services.store import TaskStore


class LocalPipeline:
    """This desk's side of the runner: what only the desk holding the file knows.

    Full reports (and the bad rows for export) stay in memory, keyed by task id: they can be
    large and name local paths. The shared row carries a one-line summary every client shows.
    """

    def __init__(self, store: TaskStore, runner: Runner, settings: Settings) -> None:
        self._store = store
        self._runner = runner
        self._settings = settings
        self._lock = threading.Lock()
        self._paths: dict[str, Path] = {}
        # What the user chose on the drop, beside the path: this desk's runs read by it.
        self._choices: dict[str, IngestChoices] = {}
        self._reports: dict[str, ValidationReport] = {}
        self._bad_rows: dict[str, Any] = {}

    @property
    def runner(self) -> Runner:
        return self._runner

    @property
    def client_id(self) -> str:
        return self._runner.client_id

    @property
    def uploads(self) -> bool:
        """Whether valid files go on into Druid from this desk (S3 and Druid configured)."""
        return self._runner.uploads

    def enqueue(
        self,
        path: Path,
        choices: IngestChoices | None = None,
        *,
        datasource: str | None = None,
        sheet: str | None = None,
    ) -> Enqueued:
        """Hash the file and find or create its task (reads the whole file: call off the GUI).

        Without `choices`: the slugged file name, append, and the sheet the reader picks.
        """
        if choices is None:
            choices = IngestChoices(datasource or datasource_slug(path.name), sheet=sheet)
        found = enqueue(
            self._store, self.client_id, path, choices, file_sha256(path),
            can_upload=self.uploads,
        )
        with self._lock:
            self._paths[found.task.id] = path
            self._choices[found.task.id] = choices
        return found

    def source_path(self, task_id: str) -> Path | None:
        with self._lock:
            return self._paths.get(task_id)

    def choices(self, task_id: str) -> IngestChoices | None:
        with self._lock:
            return self._choices.get(task_id)

    def job(
        self,
        task_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        on_upload: UploadCallback | None = None,
        answered: bool = False,
        confirmed: bool = False,
        carry: Carry | None = None,
    ) -> Job:
        """What a run of this task is given: the file, the user's choices, the hooks.

        `answered`: the user acted on a task waiting in needs_review (validate it again);
        `confirmed`: their yes to an earlier ingestion of the content or changed column types.
        """
        choices = self.choices(task_id)
        options = ingest_options(choices, self._settings) if choices else IngestOptions()
        if confirmed:
            options = replace(options, allow_duplicate=True, allow_drift=True)
        return Job(
            self.source_path(task_id),
            options,
            cancelled or (lambda: False),
            progress,
            on_upload,
            answered,
            carry or Carry(report=self.report(task_id)),
        )

    def advance(self, task_id: str, job: Job, *, pool: Pool | None = None) -> RunResult:
        """Run the task's steps that belong to `pool`; keeps the report for the details panel."""
        result = self._runner.advance(task_id, job, pool=pool)
        if result.carry is not job.carry:  # a step ran: its report replaces the one kept
            with self._lock:
                if result.report is not None:
                    self._reports[task_id] = result.report
                else:
                    self._reports.pop(task_id, None)
                if result.carry.bad_rows is not None:
                    self._bad_rows[task_id] = result.carry.bad_rows
                else:
                    self._bad_rows.pop(task_id, None)
        return result

    def run(
        self,
        task_id: str,
        *,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        confirmed: bool = False,
    ) -> RunResult:
        """Every step in this thread, as far as the task goes (self-test, scripts, tests)."""
        job = self.job(
            task_id, progress=progress, cancelled=cancelled, answered=True, confirmed=confirmed
        )
        return self.advance(task_id, job)

    def decide_date_order(self, task_id: str, order: DateOrder) -> None:
        """The user's answer to "day first or month first?"; the next run uses it."""
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

    def cancel(self, task_id: str) -> CancelOutcome:
        """Cancel a task no worker of ours runs (queued, waiting for a person, another desk's):
        its open upload is aborted and its Druid task shut down."""
        return self._runner.moves.cancel(
            task_id, "Cancelled by the user.", self._runner.connections
        )

    def retry(self, task_id: str) -> Task:
        """Back to the queue for a fresh attempt; the caller then runs it again."""
        if self.source_path(task_id) is None:
            raise FileNotFoundError(
                "Only the desk that added this file can retry it (the file is not here)."
            )
        return self._runner.moves.retry(task_id)
