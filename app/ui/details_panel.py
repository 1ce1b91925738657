"""The selected task explained: summary, rows per day, issues, columns, first rows, timeline."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.tasks import Task, TaskState
from app.domain.validation import CellValue, ValidationReport
from app.pipeline.timeline import Timeline
from app.ui.day_chart import DayChart
from app.ui.druid_section import DruidSection
from app.ui.preview_model import PreviewModel
from app.ui.record_model import RecordTableModel
from app.ui.shortcuts import key_text, keyed_action
from app.ui.task_format import STATE_LABELS, TONE_COLORS, Tone, tone_of
from app.ui.timeline_model import TimelineColumn, TimelineModel


def _cell(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(model: QAbstractItemModel, name: str, stretch_column: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.setTabKeyNavigation(False)  # Tab leaves the table (for Export errors); arrows walk it
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


def _preview_table(model: PreviewModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName("First rows of the file")
    view.setAccessibleDescription("Column headers give each column's type; hover for why.")
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTabKeyNavigation(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


def _timeline_key(task: Task) -> tuple[object, ...]:
    # Every history event changes one of these; a progress report (which bumps the version
    # too) changes none, so the history is not re-read on every progress tick.
    return (task.id, task.state, task.owner_client, task.finished_at)


class DetailsPanel(QWidget):
    """Shows one task; the full report exists only on the desk that validated the file.

    `tabs` is a QTabWidget: another section adds itself with one `tabs.addTab(...)`.
    """

    exportRequested = Signal(str)
    # The selected task's history needs (re)reading: another task, or a stage began or ended.
    timelineWanted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Task details")
        self._task: Task | None = None
        self._report: ValidationReport | None = None

        self.placeholder = QLabel("Select a task to see how its file was read and checked.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        # File names, summaries and names from another desk are shown as written, never as markup.
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setObjectName("detailsTitle")
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = QLabel()
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pending = QLabel()
        self.pending.setTextFormat(Qt.TextFormat.PlainText)
        self.pending.setWordWrap(True)
        self.pending.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
        self.meta = QLabel()
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta.setStyleSheet("color: palette(placeholder-text);")

        self.issues_model = RecordTableModel(
            ("Severity", "Row", "Column", "Value", "Message"), right_aligned=(1,), parent=self
        )
        self.columns_model = RecordTableModel(
            ("Column", "Type", "Evidence", "Nulls", "Min", "Max"), right_aligned=(3,), parent=self
        )
        self.decisions_model = RecordTableModel(("Decision", "Value", "Why"), parent=self)
        self.issues_view = _table(self.issues_model, "Validation issues", 4)
        self.columns_view = _table(self.columns_model, "Columns and types", 2)
        self.decisions_view = _table(self.decisions_model, "How the file was read", 2)
        self.preview_model = PreviewModel(self)
        self.preview_view = _preview_table(self.preview_model)
        self.timeline_model = TimelineModel(self)
        self.timeline_view = _table(self.timeline_model, "Task timeline", TimelineColumn.OUTCOME)
        self.day_chart = DayChart()
        self.day_chart.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.day_chart.hide()
        self._timeline_key: tuple[object, ...] | None = None
        # Only the running stage's elapsed time moves; the history is not read again for it.
        self._timeline_clock = QTimer(self)
        self._timeline_clock.setInterval(1000)
        self._timeline_clock.timeout.connect(self._tick_timeline)

        # On the panel, not the Issues page: the key works whichever tab is shown.
        self.export_action = keyed_action(
            self, "Export errors…", "Ctrl+Shift+E", "Save the rows with errors"
        )
        self.export_action.setEnabled(False)
        self.export_action.triggered.connect(self._export)
        self.export_button = QPushButton(self.export_action.iconText())
        self.export_button.setAccessibleName("Export rows with errors")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_action.trigger)
        issues_page = QWidget()
        issues_layout = QVBoxLayout(issues_page)
        issues_layout.setContentsMargins(0, 4, 0, 0)
        issues_layout.addWidget(self.issues_view)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        issues_layout.addLayout(buttons)

        self.tabs = QTabWidget()
        self.tabs.addTab(issues_page, "Issues")
        self.tabs.addTab(self.columns_view, "Columns")
        self.tabs.addTab(self.preview_view, "First rows")
        self.tabs.addTab(self.decisions_view, "How it was read")
        self.tabs.addTab(self.timeline_view, "Timeline")
        # Tabs that exist only with this desk's report; the others work for any client's task.
        self._report_pages: tuple[QWidget, ...] = (
            issues_page, self.columns_view, self.preview_view, self.decisions_view,
        )
        self.druid = DruidSection()
        self.tabs.addTab(self.druid, "Druid")
        self.no_report = QLabel()
        self.no_report.setTextFormat(Qt.TextFormat.PlainText)
        self.no_report.setWordWrap(True)
        self.no_report.setStyleSheet("color: palette(placeholder-text);")

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        layout.addLayout(head)
        overview = QHBoxLayout()
        texts = QVBoxLayout()
        for label in (self.summary, self.pending, self.meta, self.no_report):
            texts.addWidget(label)
        texts.addStretch(1)
        overview.addLayout(texts, 1)
        overview.addWidget(self.day_chart, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(overview)
        layout.addWidget(self.tabs, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        self.stack.currentChanged.connect(self._fit_to_page)
        self._fit_to_page(0)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addWidget(self.stack)

    def _fit_to_page(self, index: int) -> None:
        # A stacked widget is as tall as its tallest page; with nothing selected the one-line
        # placeholder should not hold the table down to the details' minimum height.
        for number in range(self.stack.count()):
            page = self.stack.widget(number)
            if page is not None:
                shown = number == index
                policy = QSizePolicy.Policy.Preferred if shown else QSizePolicy.Policy.Ignored
                page.setSizePolicy(policy, policy)
        self.stack.updateGeometry()

    @property
    def task(self) -> Task | None:
        return self._task

    def show_task(
        self,
        task: Task | None,
        report: ValidationReport | None,
        *,
        can_export: bool,
        loading: bool = False,
    ) -> None:
        self._task = task
        if task is None:
            self.export_action.setEnabled(False)
            self.stack.setCurrentIndex(0)
            self._timeline_key = None
            self.show_timeline(None)
            return
        self._want_timeline(task)
        self.stack.setCurrentIndex(1)
        self.title.setText(f"{task.file_name}" + (f" › {task.sheet}" if task.sheet else ""))
        self.state.setText(STATE_LABELS[task.state])
        self.state.setStyleSheet(f"color: {TONE_COLORS[tone_of(task.state)]}; font-weight: 600;")
        self.summary.setText(task.validation_summary or task.error_message or "")
        self.summary.setVisible(bool(self.summary.text()))
        self.meta.setText(f"Datasource {task.datasource} · task {task.id}")
        self._show_report(task, report, can_export, loading)

    def _show_report(
        self, task: Task, report: ValidationReport | None, can_export: bool, loading: bool
    ) -> None:
        self._show_report_pages(report is not None)
        if report is None:
            self._report = None
            self.export_action.setEnabled(False)
            self.pending.hide()
            self.day_chart.hide()
            self.no_report.setText(_no_report_text(task, loading))
            return
        if report is self._report:
            return  # same report: keep the tables (and the user's scroll position) as they are
        self._report = report
        questions = [f"Decision needed: {p.question} ({p.evidence})" for p in report.pending]
        self.pending.setText("\n".join(questions))
        self.pending.setVisible(bool(questions))
        self.issues_model.set_rows(
            [
                (
                    issue.severity.value,
                    "" if issue.row is None else str(issue.row),
                    issue.column or "",
                    issue.value or "",
                    issue.message,
                )
                for issue in report.issues
            ]
            + (
                [("…", "", "", "", f"{report.issues_omitted:,} more not kept with the task: "
                  "Export errors lists them all on the desk that holds the file.")]
                if report.issues_omitted
                else []
            )
        )
        self.columns_model.set_rows(
            [
                (
                    column.name,
                    column.type.value,
                    column.evidence,
                    f"{column.nulls:,}",
                    _cell(column.minimum),
                    _cell(column.maximum),
                )
                for column in report.columns
            ]
        )
        decisions = [
            (d.name, "tab" if d.value == "\t" else d.value, d.reason) for d in report.decisions
        ]
        if report.timestamp is not None:
            stamp = report.timestamp
            decisions.append(
                ("timestamp", stamp.column or "(constant)", f"{stamp.reason}; zone {stamp.zone}")
            )
        self.decisions_model.set_rows(decisions)
        self.preview_model.set_preview(report.columns, report.preview)
        self.preview_view.resizeColumnsToContents()
        self.day_chart.set_days(report.rows_per_day)
        self.day_chart.setVisible(bool(report.rows_per_day))
        issues = len(report.issues) + report.issues_omitted
        self.tabs.setTabText(0, f"Issues ({issues:,})")
        self.tabs.setTabText(1, f"Columns ({len(report.columns)})")
        self.export_button.setEnabled(can_export)
        self.export_action.setEnabled(can_export)
        self.export_button.setToolTip(
            "Save the rows with errors, with a reason column (.xlsx/.csv); on a desk without "
            f"the file, the issues the stored report keeps ({key_text(self.export_action)})"
            if can_export
            else "No rows with errors to export"
        )
        # Problems first: a user opening an invalid file wants the issues, a valid one the columns.
        self.tabs.setCurrentIndex(0 if report.errors or report.pending else 1)

    def _show_report_pages(self, shown: bool) -> None:
        self.no_report.setVisible(not shown)
        for page in self._report_pages:
            self.tabs.setTabVisible(self.tabs.indexOf(page), shown)
        if not shown and not self.tabs.isTabVisible(self.tabs.currentIndex()):
            self.tabs.setCurrentWidget(self.timeline_view)

    # -- timeline ------------------------------------------------------------------------------

    def _want_timeline(self, task: Task) -> None:
        key = _timeline_key(task)
        if key == self._timeline_key:
            return
        shown = self.timeline_model.timeline
        if shown is not None and shown.task_id != task.id:
            self.show_timeline(None)  # never another task's stages under this title
        self._timeline_key = key
        self.timelineWanted.emit(task.id)

    @Slot(Timeline)
    def show_timeline(self, timeline: Timeline | None) -> None:
        """Show a task's stages; a late answer for another task, or an older one, is ignored."""
        if timeline is not None:
            shown = self.timeline_model.timeline
            if self._task is None or timeline.task_id != self._task.id:
                return
            older = shown is not None and shown.task_id == timeline.task_id and (
                timeline.version < shown.version
            )
            if older:
                return
        self.timeline_model.set_timeline(timeline)
        if timeline is not None:
            self.timeline_view.resizeColumnsToContents()
        if timeline is not None and timeline.running is not None:
            self._timeline_clock.start()
        else:
            self._timeline_clock.stop()

    @Slot()
    def _tick_timeline(self) -> None:
        if not self.timeline_model.tick():
            self._timeline_clock.stop()

    def _export(self) -> None:
        if self._task is not None:
            self.exportRequested.emit(self._task.id)



def _no_report_text(task: Task, loading: bool) -> str:
    if loading:
        return "Reading the validation report…"
    if task.state in (TaskState.QUEUED, TaskState.VALIDATING):
        return "Validation details appear here once the file has been read."
    return (
        "No validation report is stored for this task (it could not be read, or it was "
        "validated by an older version); the summary above is what every desk sees."
    )
