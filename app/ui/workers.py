"""The one way the UI runs background work: a QRunnable plus a signals object, on the pool."""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import QMetaMethod, QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")
ProgressT = TypeVar("ProgressT")


class OperationCancelledError(Exception):
    """Raised by an operation that noticed the cancel request and stopped early."""


class WorkerStoppedError(BaseException):
    """The desk is closing: stop where you are and leave the task as it stands, for a resume.

    A BaseException on purpose: the pipeline's `except Exception` handlers would otherwise
    record it as a failure (or a user's cancel), and the S3 uploader treats a non-Exception as
    a crash and leaves the multipart upload open, so adding the file again resumes it.
    """


@dataclass(frozen=True, slots=True)
class WorkerFailure:
    """What went wrong, for the user (message) and for the log or a bug report (details)."""

    name: str
    message: str
    error_type: str
    details: str


FailureHandler = Callable[[WorkerFailure], object]


class WorkerContext(Generic[ProgressT]):
    """Handed to the operation: report progress, check for cancellation. Never touches widgets."""

    def __init__(self, signals: WorkerSignals, cancel_event: threading.Event) -> None:
        self._signals = signals
        self._cancel_event = cancel_event

    def report(self, progress: ProgressT) -> None:
        self._signals.progress.emit(progress)

    def cancelled(self) -> bool:
        return self._cancel_event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel_event.is_set():
            raise OperationCancelledError

    def stop_check(self, user_cancel: threading.Event) -> Callable[[], bool]:
        """A cancel check for the pipeline: True for the user's cancel (the pipeline records
        it); a cancelled worker (the window closing) raises WorkerStoppedError instead."""

        def check() -> bool:
            if user_cancel.is_set():
                return True
            if self._cancel_event.is_set():
                raise WorkerStoppedError
            return False

        return check


class WorkerSignals(QObject):
    """Created on the GUI thread, so emissions from the pool thread arrive queued on it.

    Payloads are typed values: progress carries the operation's progress dataclass, finished
    its result, failed a WorkerFailure. Exactly one of finished, failed or cancelled follows
    started.
    """

    started = Signal()
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(WorkerFailure)
    cancelled = Signal()
    # Always last, whatever the outcome, carrying the worker: lets the pool drop its reference.
    done = Signal(object)

    def failure_handled(self) -> bool:
        """True once something listens to `failed` (the starter's own failure handler)."""
        return self.isSignalConnected(QMetaMethod.fromSignal(self.failed))


class Worker(QRunnable, Generic[ResultT, ProgressT]):
    """Runs `operation(context)` on a pool thread; outcomes come back as signals."""

    def __init__(
        self, name: str, operation: Callable[[WorkerContext[ProgressT]], ResultT]
    ) -> None:
        super().__init__()
        # The pool keeps the Python object alive until `done`; Qt must not delete it under us.
        self.setAutoDelete(False)
        self.name = name
        self.signals = WorkerSignals()
        self._operation = operation
        self._cancel_event = threading.Event()

    def cancel(self) -> None:
        """Ask politely; the operation stops at its next check."""
        self._cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    def run(self) -> None:
        signals = self.signals
        signals.started.emit()
        context: WorkerContext[ProgressT] = WorkerContext(signals, self._cancel_event)
        try:
            result = self._operation(context)
        except (OperationCancelledError, WorkerStoppedError):
            signals.cancelled.emit()
        except Exception as exc:
            # Errors travel as a signal; the GUI decides how to show them.
            log.exception("background task %r failed", self.name)
            message = str(exc) or type(exc).__name__
            signals.failed.emit(
                WorkerFailure(self.name, message, type(exc).__name__, traceback.format_exc())
            )
        else:
            signals.finished.emit(result)
        finally:
            signals.done.emit(self)


def heavy_slots() -> int:
    """Validations that may run at once: one core is left for the window (and Polars' pool).

    Each validation already spreads over every core through Polars; running more at once only
    makes them contend, and their Python parts (sniffing, merging, the store) hold the GIL the
    window needs to repaint.
    """
    return max(1, (os.cpu_count() or 2) - 1)


@functools.cache
def heavy_pool() -> QThreadPool:
    """The process-wide pool for heavy work (file validation), beside Qt's global pool."""
    pool = QThreadPool()
    pool.setMaxThreadCount(heavy_slots())
    return pool


# Uploads and following Druid tasks mostly wait on the network: more at once than cores.
TRANSFER_SLOTS = 4


@functools.cache
def transfer_pool() -> QThreadPool:
    """The process-wide pool for network-bound steps (upload, submit, follow, verify)."""
    pool = QThreadPool()
    pool.setMaxThreadCount(TRANSFER_SLOTS)
    return pool


def all_pools() -> tuple[QThreadPool, ...]:
    """Every pool a WorkerPool submits to (for shutdown and for tests that check for leftovers)."""
    return (QThreadPool.globalInstance(), heavy_pool(), transfer_pool())


@functools.cache  # once per process: later calls (another window, a test) do nothing
def freeze_long_lived_objects() -> None:
    """Exempt what exists now (modules, classes, widgets) from the cyclic GC's full passes.

    Called when the window is up and the session open. A full collection walks every
    tracked object while holding the GIL: with ~190,000 of them that took 120-140 ms on a
    2-core machine, and a validation's allocation bursts trigger one every second or so, each
    a frozen window. Frozen objects are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


class WorkerPool(QObject):
    """Submits workers to the global QThreadPool and holds them until they are done.

    Heavy workers (validations) go to a separate pool of `heavy_slots()` threads: the rest
    wait their turn there (their task stays queued) without taking a thread that quick work,
    such as opening the store or a cancel, needs.

    No failure is silent: a worker submitted without its own failure handler reaches the
    pool's default one (the window shows it in a banner), or at least the log.
    """

    def __init__(
        self,
        parent: QObject | None = None,
        pool: QThreadPool | None = None,
        *,
        on_failure: FailureHandler | None = None,
    ) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._heavy = heavy_pool()
        self._transfer = transfer_pool()
        self._active: set[Worker[object, object]] = set()
        self._default_failure: FailureHandler | None = on_failure

    def set_default_failure_handler(self, handler: FailureHandler | None) -> None:
        """Where failures of workers without their own handler go from now on."""
        self._default_failure = handler

    def submit(
        self,
        worker: Worker[ResultT, ProgressT],
        *,
        heavy: bool = False,
        transfer: bool = False,
    ) -> Worker[ResultT, ProgressT]:
        """Run `worker`; connect its own handlers first (see `start`)."""
        held: Worker[object, object] = worker  # type: ignore[assignment]
        self._active.add(held)
        # Bound slots of this GUI-thread object, so they are queued onto the GUI thread.
        if not worker.signals.failure_handled():
            worker.signals.failed.connect(self._unhandled_failure)
        worker.signals.done.connect(self._release)
        (self._heavy if heavy else self._transfer if transfer else self._pool).start(worker)
        return worker

    @Slot(object)
    def _release(self, worker: Worker[object, object]) -> None:
        self._active.discard(worker)

    @Slot(WorkerFailure)
    def _unhandled_failure(self, failure: WorkerFailure) -> None:
        handler = self._default_failure
        if handler is None:
            log.warning("no one handled the failure to %s: %s", failure.name, failure.message)
            return
        handler(failure)

    def start(
        self,
        name: str,
        operation: Callable[[WorkerContext[ProgressT]], ResultT],
        *,
        on_finished: Callable[[ResultT], object] | None = None,
        on_failed: FailureHandler | None = None,
        on_progress: Callable[[ProgressT], object] | None = None,
    ) -> Worker[ResultT, ProgressT]:
        """Make a worker, connect its outcomes, then submit it.

        Connecting first matters: a fast operation can finish on the pool thread before this
        method returns, and a signal emitted with nothing connected is simply lost. Without
        `on_failed`, a failure goes to the pool's default handler.
        """
        worker: Worker[ResultT, ProgressT] = Worker(name, operation)
        if on_finished is not None:
            worker.signals.finished.connect(on_finished)
        if on_failed is not None:
            worker.signals.failed.connect(on_failed)
        if on_progress is not None:
            worker.signals.progress.connect(on_progress)
        return self.submit(worker)

    @property
    def active(self) -> int:
        return len(self._active)

    def cancel_all(self) -> None:
        for worker in list(self._active):
            worker.cancel()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until every worker has run (used at shutdown and in tests)."""
        heavy_done = self._heavy.waitForDone(timeout_ms)
        transfer_done = self._transfer.waitForDone(timeout_ms)
        return self._pool.waitForDone(timeout_ms) and heavy_done and transfer_done
