"""The one worker abstraction: results, failures and cancellation all arrive as signals."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.workers import Worker, WorkerContext, WorkerFailure, WorkerPool


@pytest.fixture
def pool(qtbot: QtBot) -> WorkerPool:
    return WorkerPool()


def test_success_reports_progress_then_result_on_the_gui_thread(
    qtbot: QtBot, pool: WorkerPool
) -> None:
    seen_threads: list[QThread] = []
    progress: list[int] = []

    def count(context: WorkerContext[int]) -> str:
        for step in range(3):
            context.report(step)
        return f"ran on {threading.current_thread().name}"

    worker: Worker[str, int] = Worker("count", count)
    results: list[str] = []
    worker.signals.progress.connect(progress.append)
    worker.signals.finished.connect(results.append)
    # A plain lambda, too, must run on the GUI thread (queued), not on the pool thread.
    worker.signals.finished.connect(lambda _r: seen_threads.append(QThread.currentThread()))
    with qtbot.waitSignals(
        [worker.signals.started, worker.signals.finished], order="strict", timeout=5000
    ):
        pool.submit(worker)
    assert results == [results[0]] and results[0].startswith("ran on")
    assert results[0] != f"ran on {threading.current_thread().name}"
    assert progress == [0, 1, 2]
    assert seen_threads == [QApplication.instance().thread()]  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: pool.active == 0, timeout=2000)


def test_exception_becomes_a_failed_signal(qtbot: QtBot, pool: WorkerPool) -> None:
    def broken(_context: WorkerContext[None]) -> None:
        raise ValueError("the spreadsheet is upside down")

    worker: Worker[None, None] = Worker("read the sheet", broken)
    finished: list[object] = []
    worker.signals.finished.connect(finished.append)
    with qtbot.waitSignal(worker.signals.failed, timeout=5000) as blocker:
        pool.submit(worker)
    failure = blocker.args[0]
    assert isinstance(failure, WorkerFailure)
    assert failure.message == "the spreadsheet is upside down"
    assert failure.error_type == "ValueError"
    assert failure.name == "read the sheet"
    assert "Traceback" in failure.details
    assert finished == []


def test_cooperative_cancel(qtbot: QtBot, pool: WorkerPool) -> None:
    gate = threading.Event()

    def long_job(context: WorkerContext[None]) -> str:
        gate.wait(5)  # stands in for one batch of work
        context.raise_if_cancelled()
        return "should not finish"

    worker: Worker[str, None] = Worker("long job", long_job)
    finished: list[object] = []
    worker.signals.finished.connect(finished.append)
    with qtbot.waitSignal(worker.signals.started, timeout=5000):
        pool.submit(worker)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000):
        worker.cancel()
        gate.set()
    assert worker.cancel_requested
    assert finished == []
    qtbot.waitUntil(lambda: pool.active == 0, timeout=2000)


def test_instant_operations_never_lose_their_result(qtbot: QtBot, pool: WorkerPool) -> None:
    """start() connects before submitting: a result emitted at once still arrives."""
    results: list[int] = []
    for value in range(40):
        pool.start("instant", lambda _ctx, v=value: v, on_finished=results.append)
    qtbot.waitUntil(lambda: len(results) == 40 and pool.active == 0, timeout=10_000)
    assert sorted(results) == list(range(40))
