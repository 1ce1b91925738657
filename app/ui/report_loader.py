"""Reads the stored validation report of any desk's task on a worker, once per task version."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.domain.tasks import Task
from app.domain.validation import ValidationReport
from app.pipeline.local import LocalPipeline
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool

_KEPT = 200  # reports held for reselection; each is bounded (a few KiB to 64 KiB)


class ReportLoader(QObject):
    """A cache in front of the task store's reports; `reportReady` names the task it loaded."""

    reportReady = Signal(str)

    def __init__(self, workers: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._pipeline: LocalPipeline | None = None
        self._loaded: dict[str, tuple[int, ValidationReport | None]] = {}
        self._asked: dict[str, int] = {}  # version being read now, per task

    def attach(self, pipeline: LocalPipeline) -> None:
        self._pipeline = pipeline

    def report(self, task: Task) -> ValidationReport | None:
        """This desk's report of the run, else the stored one if read for this version (else
        None, and a read starts: `reportReady` follows)."""
        pipeline = self._pipeline
        if pipeline is None:
            return None
        own = pipeline.report(task.id)
        if own is not None:
            return own
        loaded = self._loaded.get(task.id)
        if loaded is not None and loaded[0] == task.version:
            return loaded[1]
        self._load(task, pipeline)
        return loaded[1] if loaded is not None else None

    def loading(self, task: Task) -> bool:
        return self._asked.get(task.id) == task.version

    def _load(self, task: Task, pipeline: LocalPipeline) -> None:
        if self._asked.get(task.id) == task.version:
            return
        self._asked[task.id] = task.version
        task_id, version = task.id, task.version

        def read(_: WorkerContext[None]) -> tuple[str, int, ValidationReport | None]:
            return task_id, version, pipeline.stored_report(task_id)

        self._workers.start(
            "read the validation report", read, on_finished=self._on_read,
            on_failed=self._forget(task_id),
        )

    def _forget(self, task_id: str) -> Callable[[WorkerFailure], None]:
        def failed(_failure: WorkerFailure) -> None:
            self._asked.pop(task_id, None)  # the banner shows why; a later selection asks again

        return failed

    @Slot(object)
    def _on_read(self, result: tuple[str, int, ValidationReport | None]) -> None:
        task_id, version, report = result
        if self._asked.get(task_id) == version:
            del self._asked[task_id]
        if len(self._loaded) >= _KEPT:
            self._loaded.pop(next(iter(self._loaded)))
        self._loaded[task_id] = (version, report)
        self.reportReady.emit(task_id)
