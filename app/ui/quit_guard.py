"""Asks before quitting while this desk uploads or follows tasks, or holds files not yet added."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from app.ui.window_parts import WindowParts


class QuitGuard(QObject):
    """Nothing is lost by quitting (tasks resume), but an upload restarts its part in flight and
    the user may not know Druid goes on without the window; so one question, then a quit."""

    def __init__(self, parts: WindowParts) -> None:
        super().__init__(parts.window)
        self._window = parts.window
        self._controller = parts.controller
        self.confirmed = False
        self.box: QMessageBox | None = None

    def allows_close(self) -> bool:
        """True to close now; False after opening the question (window-modal, not blocking)."""
        window = self._window
        busy = self._controller.tasks_past_validation()
        waiting = len(self._controller.waiting)
        if self.confirmed or not (busy or waiting) or not window.isVisible():
            return True
        if self.box is not None:
            return False  # already asking
        box = QMessageBox(window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit Ingest Desk?")
        if waiting:
            box.setText(
                f"{waiting} file{'s are' if waiting != 1 else ' is'} waiting for the task "
                "database and not added yet."
            )
            box.setInformativeText(
                "If you quit now, no task is made for "
                f"{'them' if waiting != 1 else 'it'} (the files themselves are not touched). "
                "Keep working to Retry the database or work on this computer only."
            )
        else:
            count = len(busy)
            box.setText(
                f"{count} task{'s are' if count != 1 else ' is'} uploading or being ingested "
                "by this desk."
            )
            box.setInformativeText(
                "If you quit now, Druid keeps ingesting and Ingest Desk confirms the rows the "
                "next time it runs (here or on a colleague's desk). An unfinished upload resumes "
                "when you add the same file again."
            )
        quit_button = box.addButton("&Quit", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep working", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: object) -> None:
            self.box = None
            if button is quit_button:
                self.confirmed = True
                window.close()

        box.buttonClicked.connect(answered)
        box.open()
        self.box = box
        return False
