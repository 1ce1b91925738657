"""Review's correction dialog: the grid and reading options for a held task's file, then again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.domain.tasks import Task
from app.pipeline.choices import IngestChoices
from app.pipeline.look import FileLook
from app.services.settings import Settings
from app.ui.column_corrections import CorrectionsPanel
from app.ui.ingest_drafts import FileDraft
from app.ui.workers import WorkerPool


class CorrectionDialog(QDialog):
    """Opened with open(); `corrected` carries the new choices when the user validates again."""

    corrected = Signal(object)  # IngestChoices
    ready = Signal()  # the file was read (again) and the grid shows it

    def __init__(
        self,
        task: Task,
        path: Path,
        choices: IngestChoices,
        settings: Settings,
        workers: WorkerPool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Correct how {task.file_name} is read")
        self.setObjectName("correctionDialog")
        self.resize(1000, 600)
        # Shown empty until the worker's look arrives; the corrections start from the task's.
        self.draft = FileDraft.for_choices(FileLook(path, choices.datasource), choices)
        why = task.validation_summary or "This file is held for review."
        self.why = QLabel(f"{why}\nCorrect the columns or how the file is read, then validate "
                          "it again.")
        self.why.setTextFormat(Qt.TextFormat.PlainText)  # the summary quotes the file
        self.why.setWordWrap(True)
        self.why.setAccessibleName("Why the file is held")
        self.corrections = CorrectionsPanel(settings, workers)
        self.grid = self.corrections.grid
        self.timestamp = QComboBox()
        self.timestamp.setAccessibleName("Timestamp column")
        self.timestamp.setToolTip("The column that becomes Druid's __time")
        form = QFormLayout()
        form.addRow("T&imestamp column:", self.timestamp)
        self.buttons = QDialogButtonBox()
        self.again = self.buttons.addButton(
            "&Validate again", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.again.setToolTip("Keep these choices on the task and validate the file again")
        self.again.setEnabled(False)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.why)
        layout.addLayout(form)
        layout.addWidget(self.corrections, 1)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._validate_again)
        self.buttons.rejected.connect(self.reject)
        self.timestamp.activated.connect(self._timestamp_chosen)
        self.corrections.edited.connect(self._update)
        self.corrections.rereadStarted.connect(self._update)
        self.corrections.rereadFinished.connect(self._read)
        self.corrections.rereadFailed.connect(self._failed)
        # The panel shows this draft (empty until the look arrives, then its columns).
        self.corrections.show_draft(self.draft)
        self.corrections.reread(self.draft)

    @Slot(object)
    def _read(self, _draft: FileDraft) -> None:
        self.timestamp.clear()
        look = self.draft.look
        for candidate in look.candidates:
            self.timestamp.addItem(candidate.column, candidate.column)
        chosen = look.candidate(self.draft.timestamp_column)
        if chosen is not None:
            self.timestamp.setCurrentIndex(self.timestamp.findData(chosen.column))
        if self.timestamp.count() == 0:
            self.timestamp.addItem("No column reads as dates", None)
        self.timestamp.setEnabled(bool(look.candidates))
        self._update()
        self.ready.emit()

    @Slot(str)
    def _failed(self, _text: str) -> None:
        self._update()
        self.ready.emit()

    @Slot(int)
    def _timestamp_chosen(self, index: int) -> None:
        column = self.timestamp.itemData(index)
        if isinstance(column, str):
            self.draft.timestamp_column = column
            self.corrections.set_time_column(self.draft)

    @Slot()
    def _update(self) -> None:
        problem = self.draft.columns_problem or self.draft.look.problem
        self.again.setEnabled(problem is None and not self.corrections.busy_now)
        self.again.setToolTip(problem or "Keep these choices on the task and validate again")

    @Slot()
    def _validate_again(self) -> None:
        if not self.again.isEnabled():
            return
        self.corrected.emit(self.draft.choices())
        self.accept()
