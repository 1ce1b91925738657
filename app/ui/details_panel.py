"""The selected task explained: its summary, how the file was read, columns, and the issues."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.tasks import Task
from app.domain.validation import CellValue, ValidationReport
from app.ui.record_model import RecordTableModel
from app.ui.task_format import STATE_LABELS, TONE_COLORS, Tone, tone_of


def _cell(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(model: RecordTableModel, name: str, stretch_column: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return view


class DetailsPanel(QWidget):
    """Shows one task; the full report exists only on the desk that validated the file."""

    exportRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Task details")
        self._task: Task | None = None
        self._report: ValidationReport | None = None

        self.placeholder = QLabel("Select a task to see how its file was read and checked.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        self.title = QLabel()
        self.title.setObjectName("detailsTitle")
        self.title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = QLabel()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pending = QLabel()
        self.pending.setWordWrap(True)
        self.pending.setStyleSheet(f"color: {TONE_COLORS[Tone.ATTENTION]};")
        self.meta = QLabel()
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

        self.export_button = QPushButton("Export errors…")
        self.export_button.setAccessibleName("Export rows with errors")
        self.export_button.clicked.connect(self._export)
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
        self.tabs.addTab(self.decisions_view, "How it was read")
        self.no_report = QLabel()
        self.no_report.setWordWrap(True)
        self.no_report.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.report_stack = QStackedWidget()
        self.report_stack.addWidget(self.tabs)
        self.report_stack.addWidget(self.no_report)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.state)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addWidget(self.pending)
        layout.addWidget(self.meta)
        layout.addWidget(self.report_stack, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addWidget(self.stack)

    @property
    def task(self) -> Task | None:
        return self._task

    def show_task(
        self, task: Task | None, report: ValidationReport | None, *, can_export: bool
    ) -> None:
        self._task = task
        if task is None:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        self.title.setText(f"{task.file_name}" + (f" › {task.sheet}" if task.sheet else ""))
        self.state.setText(STATE_LABELS[task.state])
        self.state.setStyleSheet(f"color: {TONE_COLORS[tone_of(task.state)]}; font-weight: 600;")
        self.summary.setText(task.validation_summary or task.error_message or "")
        self.summary.setVisible(bool(self.summary.text()))
        self.meta.setText(f"Datasource {task.datasource} · task {task.id}")
        self._show_report(task, report, can_export)

    def _show_report(self, task: Task, report: ValidationReport | None, can_export: bool) -> None:
        if report is None:
            self._report = None
            self.pending.hide()
            self.no_report.setText(
                "Validation details appear here once this desk has read the file."
                if not task.state.is_terminal
                else "The full validation report stays on the desk that validated this file; "
                "the summary above is what every client sees."
            )
            self.report_stack.setCurrentWidget(self.no_report)
            return
        self.report_stack.setCurrentWidget(self.tabs)
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
        issues = len(report.issues)
        self.tabs.setTabText(0, f"Issues ({issues})")
        self.tabs.setTabText(1, f"Columns ({len(report.columns)})")
        self.export_button.setEnabled(can_export)
        self.export_button.setToolTip(
            "Save the rows with errors, with a reason column (.xlsx/.csv)"
            if can_export
            else "No rows with errors to export"
        )
        # Problems first: a user opening an invalid file wants the issues, a valid one the columns.
        self.tabs.setCurrentIndex(0 if report.errors or report.pending else 1)

    def _export(self) -> None:
        if self._task is not None:
            self.exportRequested.emit(self._task.id)

