"""Starts every background operation the window needs, and routes results back to the model."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.domain.store import FeedStatus
from app.domain.tasks import RETRYABLE_STATES, Task, TaskState
from app.domain.validation import DateOrder, ValidationReport
from app.pipeline.choices import IngestChoices
from app.pipeline.druid_view import DruidTaskView, druid_task_view
from app.pipeline.intake import Refusal, collect_sources
from app.pipeline.local import LocalPipeline
from app.pipeline.runner import RunResult
from app.pipeline.session import DeskSession, SessionInfo, TaskUpdate
from app.pipeline.steps.base import Carry, Pool, TransferProgress, ValidationProgress
from app.pipeline.timeline import Timeline, load_timeline
from app.services.secrets import database_url_with_password
from app.services.settings import Settings
from app.ui.follow_loop import FollowLoop
from app.ui.running_work import RunningWork, WorkKind
from app.ui.task_model import TaskTableModel
from app.ui.workers import (
    Worker,
    WorkerContext,
    WorkerFailure,
    WorkerPool,
    freeze_long_lived_objects,
)

log = logging.getLogger(__name__)

# What a task's worker reports: rows read while validating, bytes while uploading.
RunProgress = ValidationProgress | TransferProgress
_PAST_VALIDATION = frozenset(
    {TaskState.UPLOADING, TaskState.SUBMITTING, TaskState.INGESTING, TaskState.VERIFYING}
)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    tasks: tuple[Task, ...]
    refused: tuple[Refusal, ...]
    # Files that are an earlier unfinished task of theirs (it resumes instead of doubling).
    resumed: tuple[str, ...] = ()


class DeskController(QObject):
    """The window's single door to the pipeline: operations run on workers, never on the GUI."""

    sessionReady = Signal(SessionInfo)
    sessionFailed = Signal(str)
    refused = Signal(list)  # list[Refusal]
    notice = Signal(str)
    taskValidated = Signal(RunResult)  # a run of a task's steps ended (validated or further)
    timelineReady = Signal(Timeline)
    operationFailed = Signal(WorkerFailure)
    feedStatusChanged = Signal(FeedStatus)
    # Every task change the feed delivers (this desk's and others'), on the GUI thread.
    taskChanged = Signal(object)  # TaskUpdate
    druidViewReady = Signal(object)  # DruidTaskView, for the task its task_id names
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
        # Every worker that belongs to a task: its runs, follows and Druid reads.
        self.running = RunningWork(self)
        self._druid_again: dict[str, Task] = {}  # asked again while a read was running
        # Tasks a closed desk left after the upload: adopted and run here (S3 and Druid only).
        self.follow_loop = FollowLoop(self.workers, model, self.running,
                                      on_failed=self._on_failed, parent=self)
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
        freeze_long_lived_objects()  # startup's objects out of the GC's full passes
        session.watch(self._feedUpdate.emit, self._feedStatus.emit)
        self.sessionReady.emit(session.info)
        self.follow_loop.start(session)
        waiting, self._waiting_paths = self._waiting_paths, []
        if waiting:
            self.add_paths(waiting)

    @Slot(WorkerFailure)
    def _on_session_failed(self, failure: WorkerFailure) -> None:
        self.sessionFailed.emit(f"Could not open the task database: {failure.message}")

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Cancel our work, wait for it (bounded), then close the feed, heartbeat and store."""
        self.follow_loop.stop()
        self.running.stop_all()
        self.workers.cancel_all()
        if not self.workers.wait(timeout_ms):
            log.warning("background work still running at shutdown")
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # -- adding files --------------------------------------------------------------------------

    @Slot(list)
    def add_paths(self, paths: list[Path]) -> None:
        """Sort out paths (folders expanded, unsupported refused), create tasks, validate.

        Asks nothing: the window's drops go through the ingest dialog (IngestFlow) and arrive
        at `add_files`; this is for callers without a user, such as the self-test.
        """
        session = self._session
        if session is None:
            self._waiting_paths.extend(paths)
            self.notice.emit("Opening the task database; your files will follow.")
            return
        pipeline = session.pipeline

        def intake(context: WorkerContext[None]) -> IntakeResult:
            found = collect_sources(paths)
            files = [(path, None) for path in found.accepted]
            return _enqueue_all(pipeline, files, context, found.refused)

        self.workers.start(
            "add files", intake, on_finished=self._on_intake, on_failed=self._on_failed
        )

    def add_files(self, files: list[tuple[Path, IngestChoices]]) -> None:
        """Create tasks with the choices made on the drop (the ingest dialog), then run them."""
        session = self._session
        if session is None:
            return  # the ingest flow waits for the session before it asks anything
        pipeline = session.pipeline
        chosen = list(files)
        self.workers.start(
            "add files",
            lambda context: _enqueue_all(pipeline, chosen, context, ()),
            on_finished=self._on_intake,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_intake(self, result: IntakeResult) -> None:
        if result.refused:
            self.refused.emit(list(result.refused))
        owner = self._me()
        for task in result.tasks:
            # Shown at once; the feed confirms it a moment later.
            self.model.queue_update(TaskUpdate(task, owner))
            if not self.running.running(task.id, WorkKind.RUN):
                # The runner decides what comes next: validation, or an interrupted upload
                # taken over from a closed desk (staged again first if this machine lacks it).
                self._advance(task.id, Pool.CPU)
        if result.tasks:
            count = len(result.tasks)
            added = f"Added {count} file{'s' if count != 1 else ''}; validating."
            if result.resumed:
                names = ", ".join(result.resumed)
                added += f" Resuming the earlier unfinished task of {names}."
            self.notice.emit(added)

    def _me(self) -> str:
        return self._session.client.user if self._session else ""

    # -- runs of a task's steps -------------------------------------------------------------

    def validate(self, task_id: str, *, confirmed: bool = False) -> None:
        """Run the task's steps from where it is (validation first, on a CPU-bound worker).

        `confirmed` is the user's yes to what held the task for review (see `confirm`).
        """
        self._advance(task_id, Pool.CPU, answered=True, confirmed=confirmed)

    def _advance(
        self,
        task_id: str,
        pool: Pool,
        *,
        answered: bool = False,
        confirmed: bool = False,
        carry: Carry | None = None,
    ) -> None:
        """Schedule the runner on `pool`; it says where the task goes on (see _on_ran)."""
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline
        task = self.model.task_by_id(task_id)
        verb = "validate" if pool is Pool.CPU else "upload"
        name = f"{verb} {task.file_name}" if task else f"{verb} task {task_id}"

        def run(context: WorkerContext[RunProgress]) -> RunResult:
            job = pipeline.job(
                task_id, progress=context.report, cancelled=context.stop_check(user_cancel),
                on_upload=context.report, answered=answered, confirmed=confirmed, carry=carry,
            )
            return pipeline.advance(task_id, job, pool=pool)

        worker: Worker[RunResult, RunProgress] = Worker(name, run)
        # Registered before the worker is submitted, so `run` always finds its cancel event.
        user_cancel = self.running.add(task_id, WorkKind.RUN, worker)
        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(self._on_ran)
        worker.signals.failed.connect(self._on_failed)
        # Validations take a CPU-bound slot (at most heavy_slots() at once); uploads and Druid
        # wait on the network on the transfer pool.
        self.workers.submit(worker, heavy=pool is Pool.CPU, transfer=pool is Pool.NETWORK)

    def confirm(self, task_id: str) -> None:
        """Yes to the question holding a task (same content ingested before, a changed type)."""
        self.validate(task_id, confirmed=True)

    def decide_date_order(self, task_id: str, order: DateOrder) -> None:
        """The answer to "day first or month first?", then the file is validated with it."""
        session = self._session
        if session is None:
            return
        session.pipeline.decide_date_order(task_id, order)
        self.validate(task_id)

    def tasks_past_validation(self) -> tuple[str, ...]:
        """Ids of tasks this desk is uploading or following in Druid right now (for Quit)."""
        ours = [
            task_id for task_id in self.running.task_ids(WorkKind.RUN)
            if (task := self.model.task_by_id(task_id)) is not None
            and task.state in _PAST_VALIDATION
        ]
        return (*ours, *self.running.task_ids(WorkKind.FOLLOW))

    def uploads(self) -> bool:
        return bool(self._session and self._session.pipeline.uploads)

    @Slot(WorkerFailure)
    def _on_failed(self, failure: WorkerFailure) -> None:
        self.operationFailed.emit(failure)

    @Slot(object)
    def _on_progress(self, progress: RunProgress) -> None:
        if isinstance(progress, TransferProgress):
            self.model.queue_upload_tick(progress.task_id, progress.upload)
        else:
            self.model.queue_rows_read(progress.task_id, progress.rows)

    @Slot(RunResult)
    def _on_ran(self, result: RunResult) -> None:
        self.model.queue_update(TaskUpdate(result.task, self._me()))
        self.taskValidated.emit(result)
        if result.next_pool is not None:
            # The runner hands over (staged, now the upload; or the other way round): the
            # next file's validation need not wait for this one's upload and Druid task.
            self._advance(result.task.id, result.next_pool, carry=result.carry)

    def timeline(self, task_id: str) -> None:
        """Read a task's stages from the shared history (any client's task) on a worker."""
        session = self._session
        if session is None:
            return
        store = session.store
        self.workers.start(
            "read the task's history",
            lambda _ctx: load_timeline(store, task_id),
            on_finished=self._on_timeline,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_timeline(self, timeline: Timeline) -> None:
        self.timelineReady.emit(timeline)

    def is_validating(self, task_id: str) -> bool:
        """Whether this desk runs the task's steps right now."""
        return self.running.running(task_id, WorkKind.RUN)

    def report(self, task_id: str) -> ValidationReport | None:
        return self._session.pipeline.report(task_id) if self._session else None

    def can_export(self, task_id: str) -> bool:
        return bool(self._session and self._session.pipeline.has_bad_rows(task_id))

    def holds_file(self, task_id: str) -> bool:
        return bool(self._session and self._session.pipeline.source_path(task_id))

    # -- actions -------------------------------------------------------------------------------

    def cancel(self, task_id: str) -> None:
        if self.running.cancel_by_user(task_id):
            return  # the worker stops at its next check and records the cancellation itself
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline
        self.workers.start(
            "cancel a task",
            lambda _ctx: pipeline.cancel(task_id).task,
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

    # -- the Druid side of a task --------------------------------------------------------------

    def can_ask_druid(self) -> bool:
        return bool(self._session and self._session.connections)

    def fetch_druid_view(self, task: Task) -> bool:
        """Read the Druid side of `task` on a worker; druidViewReady carries it. One read per
        task at a time: asked again meanwhile, it reads once more after. False without Druid."""
        session = self._session
        connections = session.connections if session else None
        if session is None or connections is None:
            return False
        if self.running.running(task.id, WorkKind.DRUID_READ):
            self._druid_again[task.id] = task
            return True
        store = session.store

        def read(_: WorkerContext[None]) -> DruidTaskView:
            try:
                spec = store.tasks.druid_spec(task.id)
                return druid_task_view(connections, task, stored_spec=spec)
            except Exception as exc:  # a bug must not leave the tab asking forever; logged
                log.exception("reading task %s from Druid failed", task.id)
                problem = f"Could not read this task from Druid: {exc}"
                return DruidTaskView(task_id=task.id, problem=problem)

        worker: Worker[DruidTaskView, None] = Worker(f"read {task.file_name} from Druid", read)
        self.running.add(task.id, WorkKind.DRUID_READ, worker)
        worker.signals.finished.connect(self.druidViewReady)
        worker.signals.done.connect(self._on_druid_read_done)
        self.workers.submit(worker)
        return True

    @Slot(object)
    def _on_druid_read_done(self, _worker: object) -> None:
        # The registry let go of the finished read first (its slot was connected first).
        for task_id, again in list(self._druid_again.items()):
            if not self.running.running(task_id, WorkKind.DRUID_READ):
                del self._druid_again[task_id]
                self.fetch_druid_view(again)


def _enqueue_all(
    pipeline: LocalPipeline,
    files: Sequence[tuple[Path, IngestChoices | None]],
    context: WorkerContext[None],
    refused_before: tuple[Refusal, ...],
) -> IntakeResult:
    """Find or create each file's task (hashing reads the whole file: a worker's job)."""
    tasks: list[Task] = []
    resumed: list[str] = []
    refused = list(refused_before)
    for path, choices in files:
        if context.cancelled():
            break
        try:
            found = pipeline.enqueue(path, choices)
        except OSError as exc:
            refused.append(Refusal(path, f"{path.name} cannot be opened: {exc.strerror}"))
            continue
        tasks.append(found.task)
        if found.resumed:
            resumed.append(path.name)
    return IntakeResult(tuple(tasks), tuple(refused), tuple(resumed))
