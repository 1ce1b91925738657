"""Starts every background operation the window needs, and routes results back to the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.domain.store import FeedStatus
from app.domain.tasks import RETRYABLE_STATES, Task
from app.domain.validation import ValidationReport
from app.pipeline.intake import Refusal, collect_sources
from app.pipeline.local import ValidationProgress, ValidationResult
from app.pipeline.session import DeskSession, SessionInfo, TaskUpdate
from app.services.secrets import database_url_with_password
from app.services.settings import Settings
from app.ui.task_model import TaskTableModel
from app.ui.workers import Worker, WorkerContext, WorkerFailure, WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    tasks: tuple[Task, ...]
    refused: tuple[Refusal, ...]


class DeskController(QObject):
    """The window's single door to the pipeline: operations run on workers, never on the GUI."""

    sessionReady = Signal(SessionInfo)
    sessionFailed = Signal(str)
    refused = Signal(list)  # list[Refusal]
    notice = Signal(str)
    taskValidated = Signal(ValidationResult)
    operationFailed = Signal(WorkerFailure)
    feedStatusChanged = Signal(FeedStatus)
    # Every task change the feed delivers (this desk's and others'), on the GUI thread.
    taskChanged = Signal(object)  # TaskUpdate
    # Emitted on the feed's thread; Qt queues it onto the GUI thread where the model lives.
    _feedUpdate = Signal(object)
    _feedStatus = Signal(object)

    def __init__(
        self,
        settings: Settings,
        model: TaskTableModel,
        *,
        database_url: str | None = None,
        poll_interval_s: float = 0.5,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.model = model
        self.workers = WorkerPool(self)
        self._database_url = database_url
        self._poll_interval_s = poll_interval_s
        self._session: DeskSession | None = None
        self._waiting_paths: list[Path] = []
        self._validations: dict[str, Worker[ValidationResult, ValidationProgress]] = {}
        self._feedUpdate.connect(model.queue_update)
        self._feedUpdate.connect(self.taskChanged)
        self._feedStatus.connect(self.feedStatusChanged)

    @property
    def session(self) -> DeskSession | None:
        return self._session

    # -- session -------------------------------------------------------------------------------

    def start(self) -> None:
        settings, url, interval = self.settings, self._database_url, self._poll_interval_s

        def open_session(_: WorkerContext[None]) -> DeskSession:
            # The settings file holds the URL without its password; the keyring holds that.
            target = database_url_with_password(url or settings.effective_database_url)
            return DeskSession.open(settings, database_url=target, poll_interval_s=interval)

        self.workers.start(
            "open the task database",
            open_session,
            on_finished=self._on_session,
            on_failed=self._on_session_failed,
        )

    @Slot(object)
    def _on_session(self, session: DeskSession) -> None:
        self._session = session
        session.watch(self._feedUpdate.emit, self._feedStatus.emit)
        self.sessionReady.emit(session.info)
        waiting, self._waiting_paths = self._waiting_paths, []
        if waiting:
            self.add_paths(waiting)

    @Slot(WorkerFailure)
    def _on_session_failed(self, failure: WorkerFailure) -> None:
        self.sessionFailed.emit(f"Could not open the task database: {failure.message}")

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Cancel our work, wait for it (bounded), then close the feed, heartbeat and store."""
        self.workers.cancel_all()
        if not self.workers.wait(timeout_ms):
            log.warning("background work still running at shutdown")
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- adding files --------------------------------------------------------------------------

    @Slot(list)
    def add_paths(self, paths: list[Path]) -> None:
        """Sort out a drop (folders expanded, unsupported refused), create tasks, validate."""
        session = self._session
        if session is None:
            self._waiting_paths.extend(paths)
            self.notice.emit("Opening the task database; your files will follow.")
            return
        pipeline = session.pipeline

        def intake(context: WorkerContext[None]) -> IntakeResult:
            found = collect_sources(paths)
            tasks: list[Task] = []
            refused = list(found.refused)
            for path in found.accepted:
                if context.cancelled():
                    break
                try:
                    tasks.append(pipeline.enqueue(path))
                except OSError as exc:
                    refused.append(Refusal(path, f"{path.name} cannot be opened: {exc.strerror}"))
            return IntakeResult(tuple(tasks), tuple(refused))

        self.workers.start(
            "add files", intake, on_finished=self._on_intake, on_failed=self._on_failed
        )

    @Slot(object)
    def _on_intake(self, result: IntakeResult) -> None:
        if result.refused:
            self.refused.emit(list(result.refused))
        owner = self._me()
        for task in result.tasks:
            # Shown at once; the feed confirms it a moment later.
            self.model.queue_update(TaskUpdate(task, owner))
            self.validate(task.id)
        if result.tasks:
            count = len(result.tasks)
            self.notice.emit(f"Added {count} file{'s' if count != 1 else ''}; validating.")

    def _me(self) -> str:
        return self._session.client.user if self._session else ""

    # -- validation ----------------------------------------------------------------------------

    def validate(self, task_id: str) -> None:
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline

        def run(context: WorkerContext[ValidationProgress]) -> ValidationResult:
            return pipeline.validate(task_id, progress=context.report, cancelled=context.cancelled)

        task = self.model.task_by_id(task_id)
        name = f"validate {task.file_name}" if task else f"validate task {task_id}"
        worker: Worker[ValidationResult, ValidationProgress] = Worker(name, run)
        self._validations[task_id] = worker
        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(self._on_validated)
        worker.signals.failed.connect(self._on_failed)
        worker.signals.done.connect(self._on_validation_done)
        self.workers.submit(worker)

    @Slot(object)
    def _on_validation_done(self, worker: object) -> None:
        for task_id, running in list(self._validations.items()):
            if running is worker:
                del self._validations[task_id]

    @Slot(WorkerFailure)
    def _on_failed(self, failure: WorkerFailure) -> None:
        self.operationFailed.emit(failure)

    @Slot(object)
    def _on_progress(self, progress: ValidationProgress) -> None:
        self.model.queue_rows_read(progress.task_id, progress.rows)

    @Slot(ValidationResult)
    def _on_validated(self, result: ValidationResult) -> None:
        self.model.queue_update(TaskUpdate(result.task, self._me()))
        self.taskValidated.emit(result)

    def is_validating(self, task_id: str) -> bool:
        return task_id in self._validations

    def report(self, task_id: str) -> ValidationReport | None:
        return self._session.pipeline.report(task_id) if self._session else None

    def can_export(self, task_id: str) -> bool:
        return bool(self._session and self._session.pipeline.has_bad_rows(task_id))

    def holds_file(self, task_id: str) -> bool:
        return bool(self._session and self._session.pipeline.source_path(task_id))

    # -- actions -------------------------------------------------------------------------------

    def cancel(self, task_id: str) -> None:
        running = self._validations.get(task_id)
        if running is not None:
            # The worker stops at its next batch and records the cancellation itself.
            running.cancel()
            return
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline
        self.workers.start(
            "cancel a task",
            lambda _ctx: pipeline.cancel(task_id),
            on_finished=self._on_task_changed,
            on_failed=self._on_failed,
        )

    def retry(self, task_id: str) -> None:
        session = self._session
        task = self.model.task_by_id(task_id)
        if session is None or task is None or task.state not in RETRYABLE_STATES:
            return
        pipeline = session.pipeline
        self.workers.start(
            "retry a task",
            lambda _ctx: pipeline.retry(task_id),
            on_finished=self._on_retried,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_retried(self, task: Task) -> None:
        self._on_task_changed(task)
        self.validate(task.id)

    @Slot(object)
    def _on_task_changed(self, task: Task) -> None:
        self.model.queue_update(TaskUpdate(task, self._me()))

    def export_errors(self, task_id: str, target: Path) -> None:
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline
        self.workers.start(
            "export errors",
            lambda _ctx: pipeline.export_errors(task_id, target),
            on_finished=self._on_exported,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_exported(self, path: Path) -> None:
        self.notice.emit(f"Errors saved to {path}")
