"""Application entry points: the window (`run_gui`) and the bundled smoke test (`run_self_test`)."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, SignalInstance
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.domain.tasks import TaskState
from app.domain.validation import Verdict
from app.pipeline.runner import RunResult
from app.services.settings import Settings, load_settings, log_dir
from app.ui.controller import DeskController
from app.ui.crash import CrashReporter, setup_logging
from app.ui.main_window import MainWindow
from app.ui.resources import app_icon, resource_path
from app.ui.single_instance import Handover, InstanceServer, bring_to_front, hand_over
from app.ui.task_model import TaskTableModel
from app.ui.theme import install_theme
from app.ui.workers import WorkerFailure

log = logging.getLogger(__name__)

SELF_TEST_SAMPLE = "sales_clean.csv"
SELF_TEST_OPEN_TIMEOUT_S = 30.0
SELF_TEST_VALIDATE_TIMEOUT_S = 90.0


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Ingest Desk")
    app.setOrganizationName("Ingest Desk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("ingest-desk")
    app.setWindowIcon(app_icon())
    return app


def build_window(
    settings: Settings, *, database_url: str | None = None, poll_interval_s: float = 0.5
) -> MainWindow:
    """The window and its controller, not yet shown or started."""
    model = TaskTableModel()
    controller = DeskController(
        settings, model, database_url=database_url, poll_interval_s=poll_interval_s
    )
    window = MainWindow(controller)
    model.setParent(window)
    controller.setParent(window)
    return window


class FileOpenForwarder(QObject):
    """macOS delivers "Open with" and dropped-on-Dock files as QFileOpenEvent, not arguments."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            self._window.add_paths([Path(event.file())])
            return True
        return super().eventFilter(watched, event)


@dataclass(frozen=True, slots=True)
class Gui:
    """A started window, with the listener that takes later launches' files."""

    app: QApplication
    window: MainWindow
    instances: InstanceServer


def open_gui(paths: Sequence[str] = ()) -> Gui | int:
    """Hand `paths` to the window already running (then an exit code), or open this one."""
    log_path = setup_logging(log_dir())
    reporter = CrashReporter(log_path)
    reporter.install()
    app = create_application(sys.argv[:1])
    files = [Path(path) for path in paths]
    handed = hand_over(files)
    if handed is Handover.DELIVERED:
        log.info("handed %d file(s) to the running Ingest Desk", len(files))
        return 0
    if handed is Handover.NO_ANSWER:
        print(
            "Ingest Desk is already running but did not answer; bring its window to the front "
            "and add the files there, or try again in a moment.",
            file=sys.stderr,
        )
        return 1
    instances = InstanceServer()
    instances.listen()  # if it cannot, later launches open their own window, as before
    try:
        settings = load_settings()
    except ValidationError as exc:
        QMessageBox.critical(None, "Ingest Desk: settings", f"The settings are not valid:\n{exc}")
        return 2
    install_theme(settings.theme)
    window = build_window(settings)
    instances.setParent(window)
    app.installEventFilter(FileOpenForwarder(window))
    window.show()
    window.controller.start()
    instances.pathsReceived.connect(lambda handed: _take_over(window, handed))
    if files:
        # Kept by the controller until the task database is open.
        window.add_paths(files)
    log.info("Ingest Desk %s started", __version__)
    return Gui(app, window, instances)


def _take_over(window: MainWindow, paths: list[Path]) -> None:
    bring_to_front(window)
    if paths:
        window.add_paths(paths)


def run_gui(paths: Sequence[str] = ()) -> int:
    """Open the window; `paths` (from "Open with" or the command line) become tasks. With a
    window already running for this user, hand it the paths and return at once."""
    gui = open_gui(paths)
    if isinstance(gui, int):
        return gui
    return gui.app.exec()


@dataclass(frozen=True, slots=True)
class _Outcome:
    signal: str
    args: tuple[object, ...]


def _wait_for(signals: dict[str, SignalInstance], timeout_s: float) -> _Outcome | None:
    """Run the event loop until one of `signals` fires or the timeout passes (then None)."""
    loop = QEventLoop()
    caught: list[_Outcome] = []
    handlers = []
    for name, signal in signals.items():

        def handler(*args: object, name: str = name) -> None:
            caught.append(_Outcome(name, args))
            loop.quit()

        signal.connect(handler)
        handlers.append((signal, handler))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    for signal, handler in handlers:
        signal.disconnect(handler)
    return caught[0] if caught else None


def self_test(window: MainWindow, sample: Path) -> str | None:
    """Drive a shown, unstarted window through one validation; None if all went well."""
    controller = window.controller
    controller.start()
    opened = _wait_for(
        {"ready": controller.sessionReady, "failed": controller.sessionFailed},
        SELF_TEST_OPEN_TIMEOUT_S,
    )
    if opened is None:
        return f"the task database did not open within {SELF_TEST_OPEN_TIMEOUT_S:.0f} s"
    if opened.signal == "failed":
        return str(opened.args[0])
    # Straight to a task, past the ingest dialog: no one is there to press Start.
    controller.add_paths([sample])
    done = _wait_for(
        {
            "validated": controller.taskValidated,
            "failed": controller.operationFailed,
            "refused": controller.refused,
        },
        SELF_TEST_VALIDATE_TIMEOUT_S,
    )
    if done is None:
        return f"validation did not finish within {SELF_TEST_VALIDATE_TIMEOUT_S:.0f} s"
    payload = done.args[0]
    if isinstance(payload, WorkerFailure):
        return f"{payload.name} failed: {payload.message}"
    if not isinstance(payload, RunResult):
        return f"the sample was refused: {payload}"
    if payload.report is None or payload.report.verdict is not Verdict.VALID:
        return f"the sample did not validate: {payload.message}"
    if payload.task.state is not TaskState.READY:
        return f"the task ended in {payload.task.state}, expected ready (no S3 and Druid here)"
    window.model.flush()
    if window.model.task_by_id(payload.task.id) is None:
        return "the validated task is not in the task table"
    return None


def run_self_test() -> int:
    """Start Qt, open the window on a throwaway embedded store, validate a bundled sample."""
    started = time.monotonic()
    # No log file: the store is throwaway, and the reason for a failure goes to stderr.
    with tempfile.TemporaryDirectory(prefix="ingest-desk-self-test-") as folder:
        app = create_application()
        install_theme("system")
        sample = resource_path("samples", SELF_TEST_SAMPLE)
        if not sample.is_file():
            print(f"self-test FAILED: bundled sample missing: {sample}", file=sys.stderr)
            return 1
        try:
            settings = load_settings(database_url=None)
        except ValidationError as exc:
            print(f"self-test FAILED: settings are not valid: {exc}", file=sys.stderr)
            return 1
        window = build_window(
            settings, database_url=f"sqlite:///{Path(folder) / 'tasks.sqlite3'}"
        )
        window.show()
        try:
            problem = self_test(window, sample)
        finally:
            window.close()  # cancels and waits for workers, closes the store
            app.processEvents()
    if problem is not None:
        print(f"self-test FAILED: {problem}", file=sys.stderr)
        return 1
    print(f"self-test passed: {SELF_TEST_SAMPLE} validated in {time.monotonic() - started:.1f} s")
    return 0
