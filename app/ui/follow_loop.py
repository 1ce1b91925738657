"""Every few seconds, picks up tasks a closed desk left after the upload and runs them here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.domain.tasks import Task
from app.pipeline.follower import Follower, FollowTick
from app.pipeline.session import DeskSession, TaskUpdate
from app.ui.running_work import RunningWork, WorkKind
from app.ui.task_model import TaskTableModel
from app.ui.workers import Worker, WorkerContext, WorkerFailure, WorkerPool

log = logging.getLogger(__name__)

FOLLOW_INTERVAL_MS = 5_000
# Each run holds a transfer thread until Druid is done (minutes): this desk's own uploads
# must still find free ones, so only this many adopted tasks run here at once.
MAX_FOLLOW_RUNS = 2


@dataclass(frozen=True, slots=True)
class FollowResult:
    """Where a run of an adopted task ended, ready for the table."""

    update: TaskUpdate
    message: str


class FollowLoop(QObject):
    """Runs Follower.tick() on a worker every `interval_ms`, then one run worker per task."""

    ticked = Signal(object)  # FollowTick
    runFinished = Signal(object)  # FollowResult

    def __init__(
        self,
        workers: WorkerPool,
        model: TaskTableModel,
        running: RunningWork,
        *,
        on_failed: Callable[[WorkerFailure], object] | None = None,
        interval_ms: int = FOLLOW_INTERVAL_MS,
        max_runs: int = MAX_FOLLOW_RUNS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._workers = workers
        self._model = model
        self._running = running  # the window's one registry: its runs and these follows
        self._on_failed = on_failed
        self._max_runs = max_runs
        self._follower: Follower | None = None
        self._session: DeskSession | None = None
        self._ticking = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.tick)

    @property
    def is_running(self) -> bool:
        return self._follower is not None

    def followed(self) -> tuple[str, ...]:
        """Ids of the tasks this desk is following now."""
        return self._running.task_ids(WorkKind.FOLLOW)

    def follows(self, task_id: str) -> bool:
        """Whether this loop is running the task (adopted from a desk that is gone)."""
        return self._running.running(task_id, WorkKind.FOLLOW)

    def start(self, session: DeskSession) -> bool:
        """Follow from now on; False (and nothing started) without S3 and Druid on this desk."""
        if self._follower is not None:
            return True
        follower = Follower.for_session(session)
        if follower is None:
            return False
        self._follower, self._session = follower, session
        self._timer.start()
        self.tick()  # a restarted desk picks up its own earlier tasks without waiting
        return True

    def stop(self) -> None:
        """Stop ticking, stop following (the tasks stay as they are), give up the lock."""
        self._timer.stop()
        self._running.stop_all(WorkKind.FOLLOW)
        follower, self._follower, self._session = self._follower, None, None
        if follower is not None:
            follower.close()

    @Slot()
    def tick(self) -> None:
        follower = self._follower
        followed = self.followed()
        room = self._max_runs - len(followed)
        if follower is None or self._ticking or room <= 0:
            return
        running = frozenset(followed)
        self._ticking = True
        worker: Worker[FollowTick, None] = Worker(
            "look for tasks to follow", lambda _ctx: follower.tick(running, limit=room)
        )
        worker.signals.finished.connect(self._on_ticked)
        worker.signals.failed.connect(self._on_tick_failed)
        worker.signals.done.connect(self._on_tick_done)
        self._workers.submit(worker)

    @Slot(object)
    def _on_ticked(self, result: FollowTick) -> None:
        self.ticked.emit(result)
        for task in result.adopted:
            if self._running.running(task.id):
                continue  # already running on this desk
            self._run(task)

    @Slot(WorkerFailure)
    def _on_tick_failed(self, failure: WorkerFailure) -> None:
        # The database may be away for a moment; the next tick tries again.
        log.warning("looking for tasks to follow failed: %s", failure.message)

    @Slot(object)
    def _on_tick_done(self, _worker: object) -> None:
        self._ticking = False

    def _run(self, task: Task) -> None:
        follower, session = self._follower, self._session
        if follower is None or session is None:
            return  # stopped meanwhile: the adopted task is adoptable again after sign-off

        def run(context: WorkerContext[None]) -> FollowResult:
            # The user's cancel shuts the Druid task down; closing this desk only stops following
            # (its sign-off lets another desk adopt the task): see WorkerContext.stop_check.
            outcome = follower.run(task, context.stop_check(user_cancel))
            owner = session.owner_name(outcome.task.source_client)
            return FollowResult(TaskUpdate(outcome.task, owner), outcome.message)

        worker: Worker[FollowResult, None] = Worker(f"follow {task.file_name}", run)
        # Registered before the worker is submitted, so `run` always finds its cancel event.
        user_cancel = self._running.add(task.id, WorkKind.FOLLOW, worker)
        worker.signals.finished.connect(self._on_run_finished)
        if self._on_failed is not None:
            worker.signals.failed.connect(self._on_failed)
        self._workers.submit(worker, transfer=True)

    @Slot(object)
    def _on_run_finished(self, result: FollowResult) -> None:
        self._model.queue_update(result.update)
        self.runFinished.emit(result)
