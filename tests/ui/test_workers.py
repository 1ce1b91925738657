"""The one worker abstraction: results, failures and cancellation all arrive as signals."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.workers import Worker, WorkerContext, WorkerFailure, WorkerPool, heavy_slots
from tests.support.delays import inject_delay


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


def test_heavy_workers_run_at_most_heavy_slots_at_once(qtbot: QtBot, pool: WorkerPool) -> None:
    slots = heavy_slots()
    gate = threading.Event()
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def heavy(_context: WorkerContext[None]) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait(5)
        with lock:
            running[0] -= 1

    workers: list[Worker[None, None]] = [Worker(f"heavy {i}", heavy) for i in range(slots + 2)]
    with qtbot.waitSignals([w.signals.started for w in workers[:slots]], timeout=5000):
        for worker in workers:
            pool.submit(worker, heavy=True)
    # The others wait in the heavy pool; quick work still gets a thread meanwhile.
    quick: Worker[str, None] = Worker("quick", lambda _ctx: "done")
    with qtbot.waitSignal(quick.signals.finished, timeout=5000):
        pool.submit(quick)
    assert running[0] == slots
    with qtbot.waitSignals([w.signals.done for w in workers], timeout=10_000):
        gate.set()
    assert peak[0] == slots
    assert pool.wait(5000)


def test_stop_check_tells_a_users_cancel_from_a_closing_desk(qtbot: QtBot) -> None:
    """The user's cancel is an answer the pipeline records; a closing desk just stops."""
    seen: list[str] = []

    def operation(user_cancel: threading.Event) -> object:
        def run(context: WorkerContext[None]) -> str:
            check = context.stop_check(user_cancel)
            started.set()
            while True:
                try:
                    if check():
                        seen.append("recorded as cancelled by the user")
                        return "cancelled by the user"
                except BaseException:
                    seen.append("stopped, nothing recorded")
                    raise
                inject_delay(0.005)  # stands in for a slice of work

        return run

    pool = WorkerPool()
    for user_says_cancel in (True, False):
        started = threading.Event()
        user_cancel = threading.Event()
        worker: Worker[str, None] = Worker("loop", operation(user_cancel))  # type: ignore[arg-type]
        pool.submit(worker)
        assert started.wait(5)
        signal = worker.signals.finished if user_says_cancel else worker.signals.cancelled
        with qtbot.waitSignal(signal, timeout=5000):
            if user_says_cancel:
                user_cancel.set()
            worker.cancel()
    assert seen == ["recorded as cancelled by the user", "stopped, nothing recorded"]
    assert pool.wait(5000)


def _broken(_context: WorkerContext[None]) -> None:
    raise RuntimeError("the shelf fell")


def test_a_failure_without_its_own_handler_reaches_the_default_one(qtbot: QtBot) -> None:
    fallback: list[WorkerFailure] = []
    pool = WorkerPool(on_failure=fallback.append)
    pool.start("tidy the shelves", _broken)  # no on_failed
    qtbot.waitUntil(lambda: len(fallback) == 1 and pool.active == 0, timeout=5000)
    assert fallback[0].name == "tidy the shelves"
    assert fallback[0].message == "the shelf fell"
    assert "RuntimeError" in fallback[0].details

    # Submitted by hand, too: nothing listens to `failed`, so the default handler does.
    worker: Worker[None, None] = Worker("dust the shelves", _broken)
    pool.submit(worker)
    qtbot.waitUntil(lambda: len(fallback) == 2 and pool.active == 0, timeout=5000)
    assert fallback[1].name == "dust the shelves"


def test_a_workers_own_handler_keeps_the_failure_from_the_default_one(qtbot: QtBot) -> None:
    fallback: list[WorkerFailure] = []
    pool = WorkerPool()
    pool.set_default_failure_handler(fallback.append)
    own: list[WorkerFailure] = []
    pool.start("tidy the shelves", _broken, on_failed=own.append)
    worker: Worker[None, None] = Worker("dust the shelves", _broken)
    worker.signals.failed.connect(own.append)  # connected before submit, as the controller does
    pool.submit(worker)
    qtbot.waitUntil(lambda: len(own) == 2 and pool.active == 0, timeout=5000)
    assert fallback == []


def test_without_any_handler_a_failure_is_still_logged(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    pool = WorkerPool()
    pool.start("tidy the shelves", _broken)
    qtbot.waitUntil(lambda: pool.active == 0, timeout=5000)
    assert "no one handled the failure to tidy the shelves: the shelf fell" in caplog.text
