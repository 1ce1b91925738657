"""The grid and the reading options side by side, and the background re-read they trigger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.domain.rules import Template
from app.pipeline.choices import effective_template
from app.pipeline.look import FileLook, look_at_file
from app.services.settings import Settings
from app.ui.column_grid import ColumnGrid
from app.ui.ingest_drafts import FileDraft
from app.ui.reading_options import Reading, ReadingOptions
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool


class CorrectionsPanel(QWidget):
    """Shows one draft's columns and reading; edits go back into the draft, then a signal."""

    edited = Signal()  # the draft's columns, zone or one timestamp changed
    rereadStarted = Signal()
    rereadFinished = Signal(object)  # the FileDraft read again
    rereadFailed = Signal(str)  # why it could not be (also shown inline)

    def __init__(
        self,
        settings: Settings,
        workers: WorkerPool,
        templates: Sequence[Template] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._workers = workers
        self._templates = tuple(templates)
        self._draft: FileDraft | None = None
        self.grid = ColumnGrid()
        self.reading = ReadingOptions(settings.default_timezone)
        self.columns_label = QLabel("&Columns:")
        self.columns_label.setBuddy(self.grid)
        self.reason = QLabel()
        self.reason.setTextFormat(Qt.TextFormat.PlainText)  # it names the file's columns
        self.reason.setObjectName("columnsReason")
        self.reason.setWordWrap(True)
        self.reason.setAccessibleName("Column problem")
        self.reason.setStyleSheet(f"QLabel#columnsReason {{ color: {TONE_COLORS[Tone.ERROR]}; }}")
        self.reason.hide()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # a re-read has no measurable progress
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.setAccessibleName("Reading the file again")
        self.busy.hide()
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.columns_label)
        left.addWidget(self.busy)
        left.addWidget(self.grid, 1)
        left.addWidget(self.reason)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 1)
        layout.addWidget(self.reading, 0, Qt.AlignmentFlag.AlignTop)
        self.grid.grid_model.rulesChanged.connect(self._columns_edited)
        self.reading.readingChanged.connect(self._reading_edited)
        self.reading.timeChanged.connect(self._time_edited)

    @property
    def busy_now(self) -> bool:
        return not self.busy.isHidden()

    def show_draft(self, draft: FileDraft | None) -> None:
        self._draft = draft
        if draft is None:
            return
        look = draft.look
        self.grid.grid_model.set_look(look, effective_template(draft.choices()))
        self.set_time_column(draft)
        self.reading.show_look(look, draft.timezone, draft.constant_timestamp)
        self.show_reason(draft.columns_problem)

    def set_time_column(self, draft: FileDraft) -> None:
        """The timestamp column (chosen or guessed) is the one the grid shows as __time."""
        candidate = draft.look.candidate(draft.timestamp_column)
        column = None if draft.constant_timestamp else (candidate.column if candidate else None)
        self.grid.grid_model.set_time_column(column)
        self._columns_edited()

    def show_reason(self, text: str | None) -> None:
        self.reason.setText(text or "")
        self.reason.setVisible(bool(text))

    @Slot()
    def _columns_edited(self) -> None:
        draft = self._draft
        if draft is None:
            return
        model = self.grid.grid_model
        rules, problem = model.rules(), model.first_problem()
        if rules == draft.columns and problem == draft.columns_problem:
            return
        draft.columns, draft.columns_problem = rules, problem
        self.show_reason(problem)
        self.edited.emit()

    @Slot()
    def _time_edited(self) -> None:
        draft = self._draft
        if draft is None:
            return
        draft.timezone = self.reading.zone_choice()
        draft.constant_timestamp = self.reading.moment_choice()
        self.set_time_column(draft)
        self.edited.emit()

    @Slot(object)
    def _reading_edited(self, reading: Reading) -> None:
        draft = self._draft
        if draft is not None:
            self.reread(draft, reading)

    def reread(
        self, draft: FileDraft, reading: Reading | None = None, *, sheet: str | None = None
    ) -> None:
        """Look at the file again with the draft's sheet and reading on the worker pool; on a
        failure the draft keeps its last ones and the reason shows inline (never stays busy)."""
        before = (draft.sheet, draft.encoding, draft.delimiter, draft.header_row)
        if sheet is not None:
            draft.sheet = sheet
        if reading is not None:
            draft.encoding, draft.delimiter = reading.encoding, reading.delimiter
            draft.header_row = reading.header_row
        settings, templates, path = self._settings, self._templates, draft.look.path
        corrections = (draft.sheet, draft.encoding, draft.delimiter, draft.header_row)
        self.busy.show()
        self.rereadStarted.emit()

        def look(_: WorkerContext[None]) -> FileLook:
            sheet, encoding, delimiter, header = corrections
            found = look_at_file(path, settings, templates, sheet=sheet, encoding=encoding,
                                 delimiter=delimiter, header_row=header)
            # A template found now is offered by the dialog's own list, not forced on the draft.
            return replace(found, template=None)

        def failed(failure: WorkerFailure) -> None:
            draft.sheet, draft.encoding, draft.delimiter, draft.header_row = before
            self.busy.hide()
            asked = corrections[0]
            what = (
                f"sheet '{asked}' of {path.name}" if asked and asked != before[0]
                else f"{path.name} again"
            )
            text = f"Could not read {what}: {failure.message}"
            if draft is self._draft:
                self.show_draft(draft)
                self.show_reason(text)
            self.rereadFailed.emit(text)

        def done(found: FileLook) -> None:
            self.busy.hide()
            if corrections != (draft.sheet, draft.encoding, draft.delimiter, draft.header_row):
                return  # a newer re-read follows
            draft.looked_again(found)
            if draft is self._draft:
                self.show_draft(draft)
            self.rereadFinished.emit(draft)

        self._workers.start(f"look at {path.name}", look, on_finished=done, on_failed=failed)

