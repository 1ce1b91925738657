"""What the window shows instead of an empty table: the mode and the samples, or why the task
database did not open, with Retry, this computer only, and Settings."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.pipeline.session import SessionInfo
from app.ui.controller import DeskController
from app.ui.store_opening import StoreProblem

SETTINGS_LINK = "settings:"


class EmptyState(QWidget):
    samplesRequested = Signal()
    settingsRequested = Signal()
    retryRequested = Signal()
    localRequested = Signal()  # the embedded store, for this run only

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("No tasks yet")
        self.heading = QLabel("No files yet")
        self.heading.setStyleSheet("font-size: 18px; font-weight: 600;")
        self.body = QLabel("Opening the task database…")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        # A fixed width keeps the wrapped text's height right (QLabel's height-for-width).
        self.body.setFixedWidth(600)
        self.body.setOpenExternalLinks(False)
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.body.linkActivated.connect(self._link)
        self.samples_button = QPushButton("Try the bundled samples")
        self.samples_button.setToolTip(
            "Validate three sample files: a clean CSV, a workbook with two sheets, "
            "and a CSV with errors"
        )
        self.samples_button.setAccessibleName("Try the bundled samples")
        self.samples_button.clicked.connect(self.samplesRequested)
        self.samples_button.setEnabled(False)

        self.problem_buttons = QWidget()
        self.retry_button = self._button(
            "&Retry", "Try to connect to the task database again", self.retryRequested
        )
        self.local_button = self._button(
            "Work on this &computer only for now",
            "Keep tasks in the embedded store on this computer until Ingest Desk closes; "
            "the saved settings do not change",
            self.localRequested,
        )
        self.problem_settings_button = self._button(
            "&Settings…", "Check the task database URL and password", self.settingsRequested
        )
        buttons = QHBoxLayout(self.problem_buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.retry_button, self.local_button, self.problem_settings_button):
            buttons.addWidget(button)
        self.problem_buttons.hide()

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.heading, self.body, self.samples_button, self.problem_buttons):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addSpacing(8)
        layout.addStretch(2)
        self._problem: StoreProblem | None = None
        self._waiting = 0

    @staticmethod
    def _button(text: str, tip: str, signal: SignalInstance) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.clicked.connect(signal)
        return button

    def attach(self, controller: DeskController) -> None:
        """Follow the store's opening: why it failed, a new attempt, files kept meanwhile."""
        controller.storeProblem.connect(self.show_problem)
        controller.opening.started.connect(self.show_opening)
        controller.waiting.changed.connect(self._waiting_changed)
        controller.sessionReady.connect(self._title)
        self.retryRequested.connect(controller.retry_open)
        self.localRequested.connect(controller.open_locally)

    @Slot(object)
    def _title(self, info: SessionInfo) -> None:
        # The first task hides this page; the title (and the status bar) say it while it lasts.
        if info.database.instead_of:
            self.window().setWindowTitle("Ingest Desk (this computer only, for now)")

    @Slot(str)
    def show_opening(self, where: str) -> None:
        self.heading.setText("Opening the task database…")
        self._set_body(f"<p>Connecting to <b>{escape(where)}</b>.</p>" + self._kept())
        for button in (self.retry_button, self.local_button):
            button.setEnabled(False)

    @Slot(object)
    def show_problem(self, problem: StoreProblem) -> None:
        self._problem = problem
        self._render_problem(problem)
        self.retry_button.setDefault(True)
        self.retry_button.setFocus()

    def _render_problem(self, problem: StoreProblem) -> None:
        self.heading.setText(
            "The task database on this computer did not open" if problem.local
            else "The task database did not open"
        )
        hint = f"<p>{escape(problem.hint)}</p>" if problem.hint else ""
        local = (
            "<p>You can retry, fix the connection in Settings, or work on this computer only "
            "for now (tasks stay in a local store; the settings do not change).</p>"
            if problem.can_work_locally and not problem.local else ""
        )
        self._set_body(f"<p>{escape(problem.message)}</p>{hint}{local}{self._kept()}")
        self.samples_button.hide()
        self.problem_buttons.show()
        self.retry_button.setEnabled(True)
        # After "this computer only" failed too, it may be tried again (once the disk is fixed).
        self.local_button.setEnabled(problem.can_work_locally)
        self.local_button.setVisible(problem.can_work_locally)

    @Slot(int)
    def _waiting_changed(self, count: int) -> None:
        self._waiting = count
        if self._problem is not None and self.problem_buttons.isVisible():
            self._render_problem(self._problem)

    def _kept(self) -> str:
        count = self._waiting
        if not count:
            return ""
        files = f"{count} file{'s' if count != 1 else ''} you added"
        return (
            f"<p><b>{files} {'are' if count != 1 else 'is'} kept</b> and become"
            f"{'' if count != 1 else 's'} {'tasks' if count != 1 else 'a task'} as soon as a "
            "task database opens.</p>"
        )

    def _set_body(self, html: str) -> None:
        self.body.setText(html)
        # The layout asked for the height of the old text; ask again for this one.
        self.body.setMinimumHeight(self.body.heightForWidth(self.body.width()))

    def show_session(self, info: SessionInfo, *, have_samples: bool) -> None:
        self._problem = None
        self.problem_buttons.hide()
        self.heading.setText("No files yet")
        db = info.database
        if db.instead_of:
            mode = (
                "<p><b>Working on this computer only for now.</b> The shared task database "
                f"<b>{escape(db.instead_of)}</b> could not be reached, so tasks are kept in the "
                f"local store (<code>{escape(db.location)}</code>) and only you see them. The "
                "settings still name the shared database: the next start connects to it.</p>"
            )
        elif db.shared:
            mode = (
                f"<p>Connected to the shared task database <b>{db.location}</b>. "
                "Tasks from every colleague appear here as they happen.</p>"
            )
        else:
            mode = (
                "<p><b>Embedded single-user mode.</b> Tasks are kept in a local database on "
                f"this computer (<code>{db.location}</code>), so only you see them. Connect a "
                f"shared PostgreSQL database in <a href='{SETTINGS_LINK}'>Settings</a> to see "
                "your colleagues' tasks live.</p>"
            )
        upload = (
            "<p>Every row is read and checked here first. S3 and Druid are not configured, so "
            "valid files wait before the upload, marked <i>Ready to upload</i>. Connect them in "
            f"<a href='{SETTINGS_LINK}'>Settings</a> (Ctrl+,), then <i>Send ready files</i> "
            "(Ctrl+Shift+U).</p>"
            if not (info.s3.configured and info.druid.configured)
            else "<p>Valid files are uploaded to S3 and loaded into Druid.</p>"
        )
        self._set_body(
            mode + "<p>Drop CSV or Excel files above, or press <b>Ctrl+O</b>.</p>" + upload
        )
        self.samples_button.setEnabled(have_samples)
        self.samples_button.setVisible(have_samples)

    def _link(self, target: str) -> None:
        if target == SETTINGS_LINK:
            self.settingsRequested.emit()
