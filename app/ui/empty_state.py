"""What a first run shows instead of an empty table: the mode explained, and the samples."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.pipeline.session import SessionInfo

SETTINGS_LINK = "settings:"


class EmptyState(QWidget):
    samplesRequested = Signal()
    settingsRequested = Signal()

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

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.heading, self.body, self.samples_button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
            layout.addSpacing(8)
        layout.addStretch(2)

    def show_session(self, info: SessionInfo, *, have_samples: bool) -> None:
        db = info.database
        if db.shared:
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
        self.body.setText(
            mode + "<p>Drop CSV or Excel files above, or press <b>Ctrl+O</b>.</p>" + upload
        )
        # The layout asked for the height of the old text; ask again for this one.
        self.body.setMinimumHeight(self.body.heightForWidth(self.body.width()))
        self.samples_button.setEnabled(have_samples)
        self.samples_button.setVisible(have_samples)

    def _link(self, target: str) -> None:
        if target == SETTINGS_LINK:
            self.settingsRequested.emit()
