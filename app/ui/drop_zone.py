"""The drop zone: files and folders in (several at once), with feedback while dragging."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.pipeline.intake import SUPPORTED_LABEL, is_supported_name

IDLE_TITLE = "Drop CSV or Excel files here"
IDLE_HINT = f"Folders and several files at once are fine. Reads {SUPPORTED_LABEL}."

_STYLE = """
DropZone {
    border: 2px dashed palette(mid);
    border-radius: 8px;
    background: palette(base);
}
DropZone[dragState="accept"] {
    border: 2px solid palette(highlight);
    background: palette(alternate-base);
}
DropZone[dragState="reject"] {
    border: 2px solid #d64545;
}
QLabel#dropTitle { font-size: 15px; font-weight: 600; }
"""


def local_paths(mime: QMimeData) -> list[Path]:
    """Local files and folders in a drag; web links and other data are not ours to take."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def _drag_summary(paths: list[Path]) -> tuple[bool, str]:
    folders = sum(1 for p in paths if p.is_dir())
    files = [p for p in paths if not p.is_dir()]
    supported = sum(1 for p in files if is_supported_name(p))
    unsupported = [p for p in files if not is_supported_name(p)]
    if folders == 0 and supported == 0:
        names = ", ".join(p.name for p in unsupported[:3])
        return False, f"Not a spreadsheet: {names}. Reads {SUPPORTED_LABEL}."
    parts = []
    if supported:
        parts.append(f"{supported} file{'s' if supported != 1 else ''}")
    if folders:
        parts.append(f"{folders} folder{'s' if folders != 1 else ''}")
    text = "Release to add " + " and ".join(parts)
    if unsupported:
        text += f" ({len(unsupported)} not supported will be skipped)"
    return True, text


class DropZone(QFrame):
    """Emits pathsDropped with every local path dropped; sorting them out is the caller's job."""

    pathsDropped = Signal(list)
    browseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setAccessibleName("Drop zone")
        self.setAccessibleDescription(
            "Drop spreadsheet files or folders here to validate them, or use Browse."
        )
        self.setToolTip(f"Drop files or folders. Supported: {SUPPORTED_LABEL}, .csv.gz")
        self.setStyleSheet(_STYLE)
        self.setMinimumHeight(84)

        self.title = QLabel(IDLE_TITLE)
        self.title.setObjectName("dropTitle")
        self.hint = QLabel(IDLE_HINT)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)  # it may name the dragged files
        self.hint.setWordWrap(True)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setToolTip("Choose files to validate (Ctrl+O)")
        self.browse_button.setAccessibleName("Browse for files")
        self.browse_button.clicked.connect(self.browseRequested)

        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.hint)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 10, 16, 10)
        row.addLayout(text, 1)
        row.addWidget(self.browse_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._set_state("idle")

    @property
    def drag_state(self) -> str:
        return str(self.property("dragState"))

    def _set_state(self, state: str, message: str | None = None) -> None:
        self.setProperty("dragState", state)
        # Dynamic properties only restyle after a re-polish.
        self.style().unpolish(self)
        self.style().polish(self)
        if state == "idle":
            self.title.setText(IDLE_TITLE)
            self.hint.setText(IDLE_HINT)
        else:
            self.title.setText("Drop to add" if state == "accept" else "Cannot add these")
            self.hint.setText(message or "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        ok, message = _drag_summary(paths)
        self._set_state("accept" if ok else "reject", message)
        # Unsupported-only drops are still taken, so the refusal can be explained after the drop.
        event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_state("idle")
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        self._set_state("idle")
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.pathsDropped.emit(paths)
