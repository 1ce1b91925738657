"""The ingest dialog shown on a drop: per file, the datasource, template, columns, reading, mode."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QStringListModel, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.domain.tasks import IngestMode
from app.domain.validation import DateOrder
from app.pipeline.look import UPLOADS_NEED_REMOTE, DropLook
from app.services.settings import Settings
from app.ui.column_corrections import CorrectionsPanel
from app.ui.ingest_checks import ChecksPanel
from app.ui.ingest_drafts import FileDraft, IngestRequest, look_summary
from app.ui.task_format import TONE_COLORS, Tone
from app.ui.workers import WorkerPool

_ORDER_CHOICES = (
    ("Ask after validation", None),
    ("Day first (31/12/2024)", DateOrder.DAY_FIRST),
    ("Month first (12/31/2024)", DateOrder.MONTH_FIRST),
)


class IngestDialog(QDialog):
    """Opened with open(), not exec(): no nested event loop, so the table stays live behind it
    and tests keep theirs."""

    startRequested = Signal(object)  # IngestRequest
    checkFinished = Signal(str)  # the text the check panel now shows
    lookFinished = Signal(str)  # the file name looked at again (another sheet or reading)
    lookFailed = Signal(str)  # why it could not be read again (also shown in the dialog)

    def __init__(
        self,
        drop: DropLook,
        settings: Settings,
        workers: WorkerPool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add files")
        self.setObjectName("ingestDialog")
        self.resize(1180, 780)
        self._drop = drop
        self._settings = settings
        self._workers = workers
        self._drafts = [FileDraft.for_look(look) for look in drop.files]
        self._build()
        self._connect()
        self.files.setCurrentRow(0)
        self._update_start()

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.note = QLabel(self._note_text())
        self.note.setObjectName("ingestNote")
        self.note.setWordWrap(True)
        self.note.setAccessibleName("Connection note")
        self.note.setVisible(bool(self.note.text()))

        self.files = QListWidget()
        self.files.setAccessibleName("Dropped files")
        self.files.setToolTip("The files you dropped; select one to see and change its choices")
        self.files.setMinimumWidth(220)
        for draft in self._drafts:
            item = QListWidgetItem()
            self.files.addItem(item)
            self._refresh_item(item, draft)

        self.title = QLabel()
        self.title.setObjectName("fileTitle")
        self.title.setStyleSheet("QLabel#fileTitle { font-weight: 600; font-size: 14px; }")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("About this file")
        self.corrections = CorrectionsPanel(self._settings, self._workers, self._drop.templates)
        self.grid = self.corrections.grid

        self.datasource = QLineEdit()
        self.datasource.setAccessibleName("Datasource")
        self.datasource.setToolTip("The Druid datasource the rows go into (new or existing)")
        drop = self._drop
        names = list(dict.fromkeys([*drop.catalog.datasources, *drop.earlier_datasources]))
        self.suggestions = QStringListModel(names, self)
        completer = QCompleter(self.suggestions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.datasource.setCompleter(completer)
        self.datasource_reason = QLabel()
        self.datasource_reason.setObjectName("datasourceReason")
        self.datasource_reason.setWordWrap(True)
        self.datasource_reason.setAccessibleName("Datasource name problem")
        self.datasource_reason.setStyleSheet(
            f"QLabel#datasourceReason {{ color: {TONE_COLORS[Tone.ERROR]}; }}"
        )
        self.datasource_reason.hide()

        self.template = QComboBox()
        self.template.setAccessibleName("Template")
        self.template.setToolTip("A shared template's column rules and choices for this file")
        self.template.addItem("None", None)
        for template in self._drop.templates:
            self.template.addItem(f"{template.name} (v{template.version})", template.name)
        self.save_template = QCheckBox("Save these choices as a shared template")
        self.save_template.setToolTip("Everyone's next file with these columns starts with them")
        self.template_name = QLineEdit()
        self.template_name.setAccessibleName("Template name")
        self.template_name.setPlaceholderText("Template name")
        self.template_name.setToolTip("Saving under an existing name adds its next version")
        self.template_name.setEnabled(False)

        self.timestamp = QComboBox()
        self.timestamp.setAccessibleName("Timestamp column")
        self.timestamp.setToolTip("The column that becomes Druid's __time; best guess first")
        self.date_order = QComboBox()
        self.date_order.setAccessibleName("Date order")
        self.date_order.setToolTip("How to read dates such as 03/04/2024")
        for label, order in _ORDER_CHOICES:
            self.date_order.addItem(label, order)
        self.order_evidence = QLabel()
        self.order_evidence.setWordWrap(True)
        self.order_evidence.setAccessibleName("Date order evidence")
        # File names, values and reasons come from the file: shown as text, never as markup.
        for text in (self.title, self.summary, self.datasource_reason, self.order_evidence):
            text.setTextFormat(Qt.TextFormat.PlainText)
        self.sheet = QComboBox()
        self.sheet.setAccessibleName("Sheet")
        self.sheet.setToolTip("The workbook sheet to load; changing it looks at that sheet")

        self.append = QRadioButton("&Append")
        self.append.setToolTip("Add the rows to what the datasource holds")
        self.replace = QRadioButton("&Replace")
        self.replace.setToolTip("Overwrite the whole days this file covers")
        self.mode = QButtonGroup(self)
        self.mode.addButton(self.append)
        self.mode.addButton(self.replace)
        modes = QHBoxLayout()
        modes.addWidget(self.append)
        modes.addWidget(self.replace)
        modes.addStretch(1)

        self.apply_all = QPushButton("Apply to a&ll files")
        self.apply_all.setToolTip("Use this datasource, mode and template for every dropped file")
        self.apply_all.setEnabled(len(self._drafts) > 1)
        self.checks = ChecksPanel(self._drop, self._settings, self._workers, self.current)
        self.checks.finished.connect(self.checkFinished)

        self.form = QFormLayout()
        self.form.addRow("&Datasource:", self.datasource)
        self.form.addRow("", self.datasource_reason)
        self.form.addRow("&Template:", self.template)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_template)
        save_row.addWidget(self.template_name, 1)
        self.form.addRow("", save_row)
        self.form.addRow("T&imestamp column:", self.timestamp)
        self.form.addRow("Date &order:", self.date_order)
        self.form.addRow("", self.order_evidence)
        self.form.addRow("S&heet:", self.sheet)
        self.form.addRow("Mode:", modes)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.summary)
        right_layout.addLayout(self.form)
        right_layout.addWidget(self.corrections, 3)
        right_layout.addWidget(self.apply_all, 0, Qt.AlignmentFlag.AlignLeft)
        right_layout.addWidget(self.checks, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.files)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([250, 930])

        self.skip = QCheckBox("Don't ask when a template matches")
        self.skip.setToolTip(
            "When every dropped file matches a shared template, start at once with it"
        )
        self.skip.setChecked(self._settings.skip_dialog_when_template_matches)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton(
            "Start", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.start_button.setDefault(True)
        self.start_button.setToolTip("Create the tasks and validate (Ctrl+Enter)")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setToolTip("Add nothing")
        # Enter anywhere means Start: no other button may become the default by taking focus.
        for button in (self.apply_all, self.cancel_button):
            button.setAutoDefault(False)
        bottom = QHBoxLayout()
        bottom.addWidget(self.skip)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.start)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.start_button.setDefault(True)  # the button box picks its own default on show

    def _connect(self) -> None:
        self.files.currentRowChanged.connect(self._file_selected)
        self.datasource.textEdited.connect(self._datasource_edited)
        self.template.activated.connect(self._template_chosen)
        self.save_template.toggled.connect(self._save_toggled)
        self.template_name.textEdited.connect(self._template_name_edited)
        self.timestamp.activated.connect(self._timestamp_chosen)
        self.date_order.activated.connect(self._order_chosen)
        self.sheet.activated.connect(self._sheet_chosen)
        self.mode.buttonToggled.connect(self._mode_toggled)
        self.apply_all.clicked.connect(self.apply_to_all)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        self.corrections.edited.connect(self._corrected)
        self.corrections.rereadFinished.connect(self._on_reread)
        self.corrections.rereadFailed.connect(self._on_reread_failed)

    def _note_text(self) -> str:
        if not self._drop.uploads_configured:
            return UPLOADS_NEED_REMOTE
        return self._drop.catalog.note or ""

    # -- showing a file ------------------------------------------------------------------------

    @property
    def drafts(self) -> tuple[FileDraft, ...]:
        return tuple(self._drafts)

    def current(self) -> FileDraft | None:
        row = self.files.currentRow()
        return self._drafts[row] if 0 <= row < len(self._drafts) else None

    def _refresh_item(self, item: QListWidgetItem, draft: FileDraft) -> None:
        look = draft.look
        item.setText(f"{look.file_name}\n→ {draft.datasource or '?'} ({draft.mode.value})")
        trouble = look.problem or draft.problem
        icon = QStyle.StandardPixmap.SP_MessageBoxWarning if trouble else (
            QStyle.StandardPixmap.SP_FileIcon
        )
        item.setIcon(self.style().standardIcon(icon))
        item.setToolTip(trouble or str(look.path))

    @Slot(int)
    def _file_selected(self, row: int) -> None:
        self._show(self.current())
        self._schedule_check()

    def _show(self, draft: FileDraft | None) -> None:
        if draft is None:
            return
        look = draft.look
        blockers = [
            QSignalBlocker(widget)
            for widget in (
                self.datasource, self.template, self.timestamp, self.date_order, self.sheet,
                self.mode, self.save_template, self.template_name,
            )
        ]
        self.title.setText(look.file_name)
        self.summary.setText(look_summary(look))
        tone = f"color: {TONE_COLORS[Tone.ERROR]};" if look.problem else ""
        self.summary.setStyleSheet(f"QLabel {{ {tone} }}")
        self.datasource.setText(draft.datasource)
        index = self.template.findData(draft.template.name if draft.template else None)
        self.template.setCurrentIndex(max(index, 0))
        self.save_template.setChecked(draft.save_as is not None)
        self.template_name.setEnabled(draft.save_as is not None)
        self.template_name.setText(draft.save_as or "")
        self.timestamp.clear()
        for candidate in look.candidates:
            self.timestamp.addItem(candidate.column, candidate.column)
        chosen = look.candidate(draft.timestamp_column)
        if chosen is not None:
            self.timestamp.setCurrentIndex(self.timestamp.findData(chosen.column))
        elif draft.timestamp_column:
            self.timestamp.addItem(f"{draft.timestamp_column} (not found)", None)
        if self.timestamp.count() == 0:
            self.timestamp.addItem("No column reads as dates", None)
        self.timestamp.setEnabled(bool(look.candidates))
        self.date_order.setCurrentIndex(max(self.date_order.findData(draft.date_order), 0))
        self.sheet.clear()
        for sheet in look.sheets:
            label = sheet.name if sheet.visible else f"{sheet.name} (hidden)"
            self.sheet.addItem(label, sheet.name)
        self.sheet.setCurrentIndex(max(self.sheet.findData(look.sheet), 0))
        self.form.setRowVisible(self.sheet, look.is_workbook and bool(look.sheets))
        (self.replace if draft.mode is IngestMode.REPLACE else self.append).setChecked(True)
        for widget in (self.template, self.save_template, self.append, self.replace):
            widget.setEnabled(look.problem is None)
        del blockers
        self.corrections.show_draft(draft)
        self.checks.show_granularity(draft)
        self._show_order(draft)
        self._show_datasource_problem(draft)

    def _show_order(self, draft: FileDraft) -> None:
        candidate = draft.look.candidate(draft.timestamp_column)
        ambiguous = candidate is not None and candidate.ambiguous
        self.form.setRowVisible(self.date_order, ambiguous)
        self.form.setRowVisible(self.order_evidence, ambiguous)
        if candidate is not None and ambiguous:
            self.order_evidence.setText(
                f"All {candidate.sampled:,} sampled values in '{candidate.column}' read both "
                f"ways (day first: {candidate.day_first:,}, month first: "
                f"{candidate.month_first:,}), so the file cannot tell."
            )

    def _show_datasource_problem(self, draft: FileDraft) -> None:
        problem = draft.problem
        self.datasource_reason.setText(problem or "")
        self.datasource_reason.setVisible(problem is not None)

    # -- edits ---------------------------------------------------------------------------------

    def _changed(self, draft: FileDraft, *, check: bool = True) -> None:
        row = self._drafts.index(draft)
        item = self.files.item(row)
        if item is not None:
            self._refresh_item(item, draft)
        self._update_start()
        if check:
            self._schedule_check()

    @Slot(str)
    def _datasource_edited(self, text: str) -> None:
        draft = self.current()
        if draft is None:
            return
        draft.datasource = text
        self._show_datasource_problem(draft)
        self._changed(draft)

    @Slot(int)
    def _template_chosen(self, index: int) -> None:
        draft = self.current()
        if draft is None:
            return
        name = self.template.itemData(index)
        draft.use_template(next((t for t in self._drop.templates if t.name == name), None))
        self._show(draft)
        self._changed(draft)

    @Slot(bool)
    def _save_toggled(self, on: bool) -> None:
        draft = self.current()
        if draft is None:
            return
        self.template_name.setEnabled(on)
        if on and not self.template_name.text().strip():
            self.template_name.setText(draft.template.name if draft.template else draft.datasource)
        draft.save_as = self.template_name.text().strip() if on else None
        if on:
            self.template_name.setFocus()

    @Slot(str)
    def _template_name_edited(self, text: str) -> None:
        draft = self.current()
        if draft is not None and self.save_template.isChecked():
            draft.save_as = text.strip() or None
            self._update_start()

    @Slot(int)
    def _timestamp_chosen(self, index: int) -> None:
        draft = self.current()
        column = self.timestamp.itemData(index)
        if draft is None or not isinstance(column, str):
            return
        draft.timestamp_column = column
        self.corrections.set_time_column(draft)
        self._show_order(draft)
        self._changed(draft)

    @Slot(int)
    def _order_chosen(self, index: int) -> None:
        draft = self.current()
        if draft is not None:
            draft.date_order = self.date_order.itemData(index)
            self._changed(draft)

    @Slot(int)
    def _sheet_chosen(self, index: int) -> None:
        draft = self.current()
        name = self.sheet.itemData(index)
        if draft is None or not isinstance(name, str) or name == draft.look.sheet:
            return
        self.checks.show_busy(f"Looking at sheet '{name}'…")
        self.corrections.reread(draft, sheet=name)

    @Slot(object, bool)
    def _mode_toggled(self, button: object, checked: bool) -> None:
        draft = self.current()
        if draft is None or not checked:
            return
        draft.mode = IngestMode.REPLACE if button is self.replace else IngestMode.APPEND
        self._changed(draft)

    @Slot()
    def apply_to_all(self) -> None:
        source = self.current()
        if source is None:
            return
        for draft in self._drafts:
            if draft is source:
                continue
            draft.datasource, draft.mode = source.datasource, source.mode
            draft.template = source.template
            self._changed(draft, check=False)
        count = len(self._drafts) - 1
        self.checks.show_note(
            f"Datasource '{source.datasource}', {source.mode.value} and template "
            f"{source.template.name if source.template else 'none'} applied to {count} more "
            f"file{'s' if count != 1 else ''}."
        )

    def _update_start(self) -> None:
        blocked = next((d for d in self._drafts if d.problem is not None), None)
        self.start_button.setEnabled(blocked is None)
        if blocked is not None:
            self.start_button.setToolTip(f"{blocked.look.file_name}: {blocked.problem}")
        else:
            self.start_button.setToolTip("Create the tasks and validate (Ctrl+Enter)")

    # -- background looks and checks -----------------------------------------------------------

    @Slot()
    def _corrected(self) -> None:
        draft = self.current()
        if draft is not None:
            self._changed(draft)

    @Slot(object)
    def _on_reread(self, draft: FileDraft) -> None:
        if draft is self.current():
            self._show(draft)
        self._changed(draft)
        self.lookFinished.emit(draft.look.file_name)

    @Slot(str)
    def _on_reread_failed(self, text: str) -> None:
        draft = self.current()
        if draft is not None:
            self._show(draft)
            self.corrections.show_reason(text)
        self.checks.show_error(text)
        self.lookFailed.emit(text)

    def _schedule_check(self) -> None:
        self.checks.schedule()

    # -- start ---------------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        if not self.start_button.isEnabled():
            return
        self.checks.stop()
        request = IngestRequest.from_drafts(self._drafts, skip=self.skip.isChecked())
        self.startRequested.emit(request)
        self.accept()
