"""The "Review…" action: answer what holds a task in needs_review, or confirm it, and carry on."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from app.domain.tasks import Task, TaskState
from app.domain.validation import DateOrder, ValidationReport, Verdict
from app.ui.window_parts import WindowParts


class ReviewKind(enum.Enum):
    DATE_ORDER = "date_order"  # the file cannot tell day-first from month-first
    CONFIRM = "confirm"  # valid, but held: same content ingested before, a changed column type


@dataclass(frozen=True, slots=True)
class ReviewQuestion:
    kind: ReviewKind
    question: str
    evidence: str


def review_question(
    task: Task | None, report: ValidationReport | None, *, uploads: bool
) -> ReviewQuestion | None:
    """What the user can settle for this task on this desk; None when there is nothing to ask.

    Only the desk holding the file has the report. Without S3 and Druid a valid file also waits
    in needs_review, but then the answer is Settings, not a question.
    """
    if task is None or task.state is not TaskState.NEEDS_REVIEW or report is None:
        return None
    date_questions = [p for p in report.pending if p.code == "date_order"]
    if date_questions:
        first = date_questions[0]
        return ReviewQuestion(ReviewKind.DATE_ORDER, first.question, first.evidence)
    if uploads and report.verdict is Verdict.VALID:
        held = task.validation_summary or "This file is waiting for your confirmation."
        return ReviewQuestion(
            ReviewKind.CONFIRM, held,
            f"{report.rows:,} valid rows will be ingested into {task.datasource}.",
        )
    return None


class ReviewAction(QObject):
    """Owns the action (toolbar, context menu, Ctrl+E) and the question box it opens."""

    def __init__(self, parts: WindowParts) -> None:
        super().__init__(parts.window)
        self._parts = parts
        window = parts.window
        self.box: QMessageBox | None = None
        action = QAction("Review…", window)
        action.setShortcut(QKeySequence("Ctrl+E"))
        tip = "Answer the question holding the selected task, or confirm it, and carry on"
        action.setToolTip(f"{tip} (Ctrl+E)")
        action.setStatusTip(tip)
        action.triggered.connect(self.open)
        window.addAction(action)
        self.action = action
        parts.toolbar.insertAction(parts.cancel_action, action)
        parts.icons.add(action, "review")
        parts.table.selectionModel().currentRowChanged.connect(self.update)
        parts.model.dataChanged.connect(self.update)
        parts.controller.taskValidated.connect(self.update)
        self.update()

    def question(self) -> ReviewQuestion | None:
        controller = self._parts.controller
        task = self._parts.selection.current()
        report = controller.report(task.id) if task is not None else None
        return review_question(task, report, uploads=controller.uploads())

    @Slot()
    def update(self, *_args: object) -> None:
        self.action.setEnabled(self.question() is not None)

    @Slot()
    def open(self) -> QMessageBox | None:
        """Window-modal (open(), not exec()), so the live table keeps its event loop."""
        task, asked = self._parts.selection.current(), self.question()
        if task is None or asked is None:
            return None
        box = QMessageBox(self._parts.window)
        box.setWindowTitle(f"Review {task.file_name}")
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(asked.question)
        box.setInformativeText(asked.evidence)
        choices: dict[QAbstractButton, DateOrder | None] = {}
        if asked.kind is ReviewKind.DATE_ORDER:
            for label, order in (
                ("&Day first (31/12)", DateOrder.DAY_FIRST),
                ("&Month first (12/31)", DateOrder.MONTH_FIRST),
            ):
                choices[box.addButton(label, QMessageBox.ButtonRole.AcceptRole)] = order
        else:
            choices[box.addButton("&Ingest anyway", QMessageBox.ButtonRole.AcceptRole)] = None
        box.addButton(QMessageBox.StandardButton.Cancel)
        task_id = task.id

        def answered(button: QAbstractButton) -> None:
            if button not in choices:
                return
            order = choices[button]
            controller = self._parts.controller
            if order is not None:
                controller.decide_date_order(task_id, order)
            else:
                controller.confirm(task_id)
            self._parts.status.showMessage("Carrying on with your answer…", 4000)

        box.buttonClicked.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.box = box
        return box


def install_review_action(parts: WindowParts) -> ReviewAction:
    return ReviewAction(parts)
