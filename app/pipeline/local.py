"""Tasks whose source file is on this desk: their paths, choices and reports, and their runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.domain.store import TaskPatch
from app.domain.tasks import Task
from app.domain.validation import DateOrder, ValidationReport
from app.pipeline.choices import (
    IngestChoices,
    IngestOptions,
    choices_from_dict,
    choices_to_dict,
    ingest_options,
    task_choices,
)
from app.pipeline.intake import Refusal, datasource_slug, file_sha256
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
from app.pipeline.tasks import OWNER_LEASE, Enqueued, desk_gone, enqueue
from app.services.settings import Settings
from app.services.store import LostRaceError, TaskStore, report_codec
from app.services.validation import ValidateOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErrorsExported:
    """Where the errors went. `rows`: the file's rows with a reason (this desk has the file);
    otherwise the issues the stored report keeps, `complete` False when it kept only a sample."""

    path: Path
    rows: bool
    complete: bool = True


@dataclass(frozen=True, slots=True)
class AddedFiles:
    """What adding files made: their tasks, the files refused and why, and which files were an
    earlier unfinished task (resumed) or an earlier invalid one (a new attempt)."""

    tasks: tuple[Task, ...]
    refused: tuple[Refusal, ...]
    resumed: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()


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

    def add_files(
        self,
        files: Sequence[tuple[Path, IngestChoices | None]],
        cancelled: CancelCheck,
        refused: Sequence[Refusal] = (),
    ) -> AddedFiles:
        """Find or create each file's task (hashing reads every file: call off the GUI)."""
        tasks: list[Task] = []
        resumed: list[str] = []
        retried: list[str] = []
        refusals = list(refused)
        for path, choices in files:
            if cancelled():
                break
            try:
                found = self.enqueue(path, choices)
            except OSError as exc:
                refusals.append(Refusal(path, f"{path.name} cannot be opened: {exc.strerror}"))
                continue
            tasks.append(found.task)
            if found.resumed:
                resumed.append(path.name)
            if found.retried:
                retried.append(path.name)
        return AddedFiles(tuple(tasks), tuple(refusals), tuple(resumed), tuple(retried))

    def source_path(self, task_id: str) -> Path | None:
        """Where this desk holds the task's file: added here in this session, or the path the
        task row keeps (after a restart) while a file is there (blocking: reads the store)."""
        with self._lock:
            known = self._paths.get(task_id)
        if known is not None:
            return known
        task = self._store.tasks.find(task_id)
        if task is None or task.source_path is None:
            return None
        # Another desk's path can exist here too (this machine after a restart, or by chance):
        # claim() checks the content before this desk acts on it.
        path = Path(task.source_path)
        return path if path.is_file() else None

    def choices(self, task_id: str) -> IngestChoices | None:
        """The user's choices for the task: this session's, else the ones the task row keeps."""
        with self._lock:
            known = self._choices.get(task_id)
        if known is not None:
            return known
        stored = self._store.tasks.choices(task_id)
        if stored is None:
            return None
        named = stored.get("template")
        kept = self._store.templates.latest(named) if named else None
        found = choices_from_dict(stored, kept.template if kept else None)
        with self._lock:
            self._choices.setdefault(task_id, found)
        return found

    def set_choices(self, task_id: str, choices: IngestChoices) -> None:
        """The user corrected a guess (Review): the next run reads by these, and so does any
        desk after a restart (kept on the task row)."""
        with self._lock:
            self._choices[task_id] = choices
        task = self._store.tasks.get(task_id)
        self._store.tasks.update(
            task_id, TaskPatch(choices=choices_to_dict(choices)), expected_state=task.state,
            owner=task.owner_client or self.client_id,
        )

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
        """The report this desk holds in memory (validated here in this session)."""
        with self._lock:
            return self._reports.get(task_id)

    def stored_report(self, task_id: str) -> ValidationReport | None:
        """The report as the task row keeps it, for any desk's task (blocking: reads the store).

        None before the first verdict, or when a newer app stored a shape this one cannot read.
        """
        known = self.report(task_id)
        if known is not None:
            return known
        stored = self._store.tasks.report(task_id)
        if stored is None:
            return None
        try:
            return report_codec.decode(stored)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("stored report of task %s is not readable here: %s", task_id, exc)
            return None

    def has_bad_rows(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._bad_rows

    def export_errors(self, task_id: str, target: Path) -> ErrorsExported:
        """The rows with errors, from this desk's last run, else read again from the file where
        it is here and unchanged, else the issues the stored report keeps (any desk)."""
        # Polars loads with the first export, not with the window that imports this module.
        from app.services.report_export import export_bad_rows, export_issues  # noqa: PLC0415

        with self._lock:
            bad_rows = self._bad_rows.get(task_id)
        if bad_rows is None:
            path = self._unchanged_file(task_id)
            if path is not None:
                bad_rows = self._reread_bad_rows(task_id, path)
        if bad_rows is not None:
            return ErrorsExported(export_bad_rows(bad_rows, target), rows=True)
        report = self.stored_report(task_id)
        if report is None or not report.issues:
            raise LookupError("This task has no rows with errors to export.")
        written = export_issues(report.issues, target)
        return ErrorsExported(written, rows=False, complete=report.issues_omitted == 0)

    def _unchanged_file(self, task_id: str) -> Path | None:
        """The task's file on this desk, if it still hashes to what was validated."""
        path = self.source_path(task_id)
        task = self._store.tasks.find(task_id) if path is not None else None
        return path if path is not None and task and file_sha256(path) == task.sha256 else None

    def _reread_bad_rows(self, task_id: str, path: Path) -> Any:
        from app.services.reading import open_source  # noqa: PLC0415 - see export_errors
        from app.services.validation import validate_source  # noqa: PLC0415

        options = self.job(task_id).options
        source = open_source(path, options.read)
        try:
            outcome = validate_source(source, options.validate or ValidateOptions())
        finally:
            source.close()
        return outcome.bad_rows

    def cancel(self, task_id: str) -> CancelOutcome:
        """Cancel a task no worker of ours runs (queued, waiting for a person, another desk's):
        its open upload is aborted and its Druid task shut down."""
        return self._runner.moves.cancel(
            task_id, "Cancelled by the user.", self._runner.connections
        )

    def remove(self, task_id: str) -> tuple[str, ...]:
        """The user removed the task from the view: its staged files on this desk go now if it
        has ended, else once it ends, and an upload it left open for a retry is aborted (no
        retry will come). Returns one sentence per aborted upload (blocking: store and S3)."""
        self._runner.staging.removed(task_id)
        task = self._store.tasks.get(task_id)
        return self._runner.moves.release(task, self._runner.connections)

    def retry(self, task_id: str) -> Task:
        """Back to the queue for a fresh attempt; the caller then runs it again.

        Refused with a sentence when the file is not on this desk or changed since it was added.
        """
        task = self._store.tasks.get(task_id)
        self._check_file(task)
        if task.source_client != self.client_id and not desk_gone(self._store, task.source_client):
            raise FileNotFoundError(
                f"{task.file_name} belongs to a desk that is still open; retry it there."
            )
        again = self._runner.moves.retry(task_id)
        return self._take_over(again)

    def claim(self, task_id: str) -> Task:
        """Make this desk the one that goes on with a task whose file it holds (after a restart
        the desk is a new client): refused with a sentence when the file is not here, changed,
        or still held by a desk that is open."""
        task = self._store.tasks.get(task_id)
        self._check_file(task)
        return self._take_over(task)

    def _check_file(self, task: Task) -> Path:
        path = self.source_path(task.id)
        if path is None:
            where = f" ({task.source_path})" if task.source_path else ""
            raise FileNotFoundError(
                f"{task.file_name} is not on this desk{where}: go on with it on the desk that "
                "added it, or add the file again."
            )
        if file_sha256(path) != task.sha256:
            raise FileNotFoundError(
                f"{path} changed since it was added; add it again to check the new version."
            )
        with self._lock:
            self._paths[task.id] = path
        return path

    def _take_over(self, task: Task) -> Task:
        if task.source_client == self.client_id:
            return task
        try:
            return self._store.tasks.take_over_source(
                task.id, expected_version=task.version, by_client=self.client_id,
                lease=OWNER_LEASE,
            )
        except LostRaceError as race:
            raise FileNotFoundError(
                f"{task.file_name} belongs to a desk that is still open; go on with it there."
            ) from race
