"""Starts every background operation the window needs, and routes results back to the model."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.domain.store import FeedStatus, OwnerStatus, owner_status
from app.domain.tasks import RETRYABLE_STATES, Task, TaskState
from app.domain.validation import DateOrder, ValidationReport
from app.pipeline.choices import IngestChoices
from app.pipeline.druid_view import DruidTaskView, druid_task_view
from app.pipeline.intake import collect_sources
from app.pipeline.local import AddedFiles, ErrorsExported, LocalPipeline
from app.pipeline.runner import RunResult
from app.pipeline.session import DeskSession, SessionInfo, TaskUpdate
from app.pipeline.steps.base import Carry, Pool, TransferProgress, ValidationProgress
from app.pipeline.tasks import OWNER_LEASE
from app.pipeline.timeline import Timeline, load_timeline
from app.services.settings import Settings
from app.ui.follow_loop import FollowLoop
from app.ui.report_loader import ReportLoader
from app.ui.running_work import RunningWork, WorkKind
from app.ui.store_opening import StoreOpening, StoreProblem, WaitingFiles
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


class DeskController(QObject):
    """The window's single door to the pipeline: operations run on workers, never on the GUI."""

    sessionReady = Signal(SessionInfo)
    sessionFailed = Signal(str)  # the StoreProblem's text
    storeProblem = Signal(object)  # StoreProblem: what failed, a hint, whether it was local
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
        self._session: DeskSession | None = None
        self.waiting = WaitingFiles(self)  # files added before a store opened
        self.opening = StoreOpening(
            self.workers, database_url=database_url, poll_interval_s=poll_interval_s, parent=self
        )
        self.opening.opened.connect(self._on_session)
        self.opening.failed.connect(self._on_session_failed)
        # Every worker that belongs to a task: its runs, follows and Druid reads.
        self.running = RunningWork(self)
        self._druid_again: dict[str, Task] = {}  # asked again while a read was running
        self.reports = ReportLoader(self.workers, self)
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
        """Open the store the settings name; `sessionReady` or `sessionFailed` follows."""
        self.opening.open(self.settings)

    def retry_open(self) -> bool:
        """Try the configured store again (with the settings as they are now)."""
        return self._session is None and self.opening.open(self.settings)

    def open_locally(self) -> bool:
        """Open the embedded store on this computer for this run; the settings stay as saved."""
        return self._session is None and self.opening.open(self.settings, local=True)

    @Slot(object)
    def _on_session(self, session: DeskSession) -> None:
        self._session = session
        self.reports.attach(session.pipeline)
        freeze_long_lived_objects()  # startup's objects out of the GC's full passes
        session.watch(self._feedUpdate.emit, self._feedStatus.emit)
        self.sessionReady.emit(session.info)
        self.follow_loop.start(session)
        waiting = self.waiting.take(ask=False)
        if waiting:
            self.add_paths(waiting)

    @Slot(object)
    def _on_session_failed(self, problem: StoreProblem) -> None:
        self.storeProblem.emit(problem)
        self.sessionFailed.emit(problem.text)

    def hold(self, paths: list[Path], *, ask: bool) -> None:
        """Keep files added before a store opened, for whichever opens (`ask`: the drop goes
        through the ingest dialog then)."""
        self.waiting.hold(paths, ask=ask)
        self.notice.emit(self.waiting.notice(opening_failed=self.opening.problem is not None))

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
            self.hold(paths, ask=False)
            return
        pipeline = session.pipeline

        def intake(context: WorkerContext[None]) -> AddedFiles:
            found = collect_sources(paths)
            files = [(path, None) for path in found.accepted]
            return pipeline.add_files(files, context.cancelled, found.refused)

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
            lambda context: pipeline.add_files(chosen, context.cancelled),
            on_finished=self._on_intake,
            on_failed=self._on_failed,
        )

    @Slot(object)
    def _on_intake(self, result: AddedFiles) -> None:
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
            if result.retried:
                names = ", ".join(result.retried)
                added += f" A new attempt of the earlier invalid task of {names}."
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
            self.model.queue_rows_read(progress.task_id, progress.rows, progress.fraction)

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

    def report(self, task_id: str) -> ValidationReport | None:
        """The task's report if this desk has it at hand (its own run, or read from the store
        for the task's current version); otherwise a read starts and `reports.reportReady`
        follows."""
        task = self.model.task_by_id(task_id)
        return self.reports.report(task) if task is not None else None

    def holds_file(self, task: Task) -> bool:
        """Whether this desk may go on with the task's file: added here, or by a desk that is
        gone (this one after a restart). Cheap: the action itself checks that the file is still
        there and unchanged, and says so if not."""
        session = self._session
        if session is None or not task.source_path:
            return False
        if task.source_client == session.client.id:
            return True
        return owner_status(task, datetime.now(UTC), OWNER_LEASE) is not OwnerStatus.OWNED

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

    def remove(self, task_id: str) -> None:
        """The task left the view: its staged copy on this desk goes (once it has ended)."""
        if self._session is not None:
            pipeline = self._session.pipeline
            self.workers.start("remove staged files", lambda _ctx: pipeline.remove(task_id))

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
        self._advance(task.id, Pool.CPU)

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
    def _on_exported(self, exported: ErrorsExported) -> None:
        if exported.rows:
            self.notice.emit(f"Errors saved to {exported.path}")
            return
        which = "the issues" if exported.complete else "the sample of issues"
        self.notice.emit(
            f"Saved {which} stored with the task to {exported.path} (the file is not on this "
            "desk; where it was added, Export errors saves its rows)."
        )

    def send_ready(self) -> int:
        """Send every task waiting for S3 and Druid whose file this desk holds; how many."""
        if not self.uploads():
            return 0
        session = self._session
        if session is None:
            return 0
        pipeline = session.pipeline
        sent = 0
        for task in self.model.tasks_in(TaskState.READY):
            if self.holds_file(task) and not self.running.running(task.id, WorkKind.RUN):
                self._claim_then_run(pipeline, task)
                sent += 1
        return sent

    def _claim_then_run(self, pipeline: LocalPipeline, task: Task) -> None:
        task_id = task.id
        self.workers.start(
            f"send {task.file_name}", lambda _ctx: pipeline.claim(task_id),
            on_finished=self._on_claimed,
        )

    def revalidate(self, task_id: str, choices: IngestChoices) -> None:
        """The user corrected how the file is read (Review): the choices are kept on the task,
        then it is validated again (an invalid one as a new attempt of the same task)."""
        session = self._session
        if session is None:
            return
        pipeline = session.pipeline

        def correct(_: WorkerContext[None]) -> Task:
            pipeline.set_choices(task_id, choices)
            task = session.store.tasks.get(task_id)
            return pipeline.retry(task_id) if task.state in RETRYABLE_STATES else task

        self.workers.start(f"re-read task {task_id[:8]}", correct, on_finished=self._on_corrected)

    @Slot(object)
    def _on_corrected(self, task: Task) -> None:
        self._on_task_changed(task)
        self._advance(task.id, Pool.CPU, answered=True)

    @Slot(object)
    def _on_claimed(self, task: Task) -> None:
        self._on_task_changed(task)
        self._advance(task.id, Pool.CPU)

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

