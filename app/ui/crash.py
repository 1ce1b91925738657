"""Logging to a rotating file, and a global exception hook that shows a copyable crash report."""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__

log = logging.getLogger("app.crash")
LOG_FILE_NAME = "ingest-desk.log"


def setup_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    """Send the app's logs to a rotating file (2 MB x 5) in the platform log folder."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = RotatingFileHandler(path, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return path


def crash_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    lines = [
        f"Ingest Desk {__version__}",
        f"Python {platform.python_version()} · PySide6 {pyside_version} · {platform.platform()}",
        "",
        *traceback.format_exception(exc_type, exc, tb),
    ]
    return "\n".join(line.rstrip("\n") for line in lines)


class CrashDialog(QDialog):
    def __init__(self, report: str, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Ingest Desk hit an unexpected error")
        self.setAccessibleName("Crash report")
        where = f" The full log is in {log_path}." if log_path else ""
        intro = QLabel(
            "Something went wrong that Ingest Desk did not expect. Your tasks are safe in the "
            f"task database. Please copy this report into a bug report.{where}"
        )
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(report)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Error report")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy report")
        copy.setToolTip("Copy the report to the clipboard")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(720, 420)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


class CrashReporter(QObject):
    """Installed as sys.excepthook/threading.excepthook; shows the dialog on the GUI thread."""

    crashed = Signal(str)

    def __init__(self, log_path: Path | None, *, show_dialog: bool = True) -> None:
        super().__init__()
        self.log_path = log_path
        self.show_dialog = show_dialog
        self.reports: list[str] = []
        self._showing = False
        self.crashed.connect(self._show)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__

    def handle(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report = crash_report(exc_type, exc, tb)
        log.critical("unhandled exception\n%s", report)
        self.reports.append(report)
        # From any thread: the signal queues the dialog onto the GUI thread.
        self.crashed.emit(report)

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    @Slot(str)
    def _show(self, report: str) -> None:
        if not self.show_dialog or self._showing:
            return  # one dialog at a time; the rest are in the log
        self._showing = True
        try:
            CrashDialog(report, self.log_path).exec()
        finally:
            self._showing = False
