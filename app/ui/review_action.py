"""The "Review…" action: answer or confirm what holds a task, or correct how it is read."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from app.domain.tasks import Task, TaskState
from app.domain.validation import DateOrder, ValidationReport, Verdict
from app.pipeline.choices import IngestChoices, task_choices
from app.ui.review_dialog import CorrectionDialog
from app.ui.window_parts import WindowParts


class ReviewKind(enum.Enum):
    DATE_ORDER = "date_order"  # the file cannot tell day-first from month-first
    CONFIRM = "confirm"  # valid, but held: same content ingested before, a changed column type
    CORRECT = "correct"  # invalid (or held without a question): correct the reading, re-validate


@dataclass(frozen=True, slots=True)
class ReviewQuestion:
    kind: ReviewKind
    question: str
    evidence: str


def review_question(
    task: Task | None,
    report: ValidationReport | None,
    *,
    uploads: bool,
    holds_file: bool = False,
) -> ReviewQuestion | None:
    """What the user can settle for this task on this desk; None when there is nothing to ask.

    Only the desk holding the file can correct how it is read and validate it again.
    """
    if task is None or task.state not in (TaskState.NEEDS_REVIEW, TaskState.INVALID):
        return None
    correct = ReviewQuestion(
        ReviewKind.CORRECT,
        task.validation_summary or "This file did not pass validation.",
        "Correct the columns (type, Druid name, include) or how the file is read, and "
        "validate it again.",
    )
    if task.state is TaskState.INVALID or report is None:
        return correct if holds_file else None
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
    return correct if holds_file else None


class ReviewAction(QObject):
    """Owns the action (toolbar, context menu, Ctrl+E) and the question box it opens."""

    def __init__(self, parts: WindowParts) -> None:
        super().__init__(parts.window)
        self._parts = parts
        window = parts.window
        self.box: QMessageBox | None = None
        self.dialog: CorrectionDialog | None = None
        action = QAction("Review…", window)
        action.setShortcut(QKeySequence("Ctrl+E"))
        tip = "Answer or confirm what holds the selected task, or correct how it is read"
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
        if task is None or task.state not in (TaskState.NEEDS_REVIEW, TaskState.INVALID):
            return None
        report = controller.report(task.id)
        return review_question(
            task, report, uploads=controller.uploads(), holds_file=controller.holds_file(task)
        )

    @Slot()
    def update(self, *_args: object) -> None:
        self.action.setEnabled(self.question() is not None)

    @Slot()
    def open(self) -> QMessageBox | CorrectionDialog | None:
        """Window-modal (open(), not exec()), so the live table keeps its event loop."""
        task, asked = self._parts.selection.current(), self.question()
        if task is None or asked is None:
            return None
        if asked.kind is ReviewKind.CORRECT:
            return self.correct(task)
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
        fix = None
        if self._parts.controller.holds_file(task):
            fix = box.addButton("C&orrect columns…", QMessageBox.ButtonRole.ActionRole)
            fix.setToolTip("Correct the columns or how the file is read, and validate again")
        box.addButton(QMessageBox.StandardButton.Cancel)
        task_id = task.id

        def answered(button: QAbstractButton) -> None:
            if fix is not None and button is fix:
                self.correct(task)
                return
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


    def correct(self, task: Task) -> CorrectionDialog | None:
        """The grid and reading options for the task's file; its answer re-validates the task."""
        controller = self._parts.controller
        session = controller.session
        path = session.pipeline.source_path(task.id) if session is not None else None
        if session is None or path is None:
            return None
        choices = session.pipeline.choices(task.id) or task_choices(task)
        dialog = CorrectionDialog(
            task, path, choices, controller.settings, controller.workers, self._parts.window
        )
        task_id = task.id

        def corrected(chosen: IngestChoices) -> None:
            # The controller keeps the choices on the task, then validates again (an invalid
            # task is retried first, back through the queue).
            controller.revalidate(task_id, chosen)
            self._parts.status.showMessage("Validating again with your corrections…", 4000)

        dialog.corrected.connect(corrected)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._forget_dialog)
        dialog.open()
        self.dialog = dialog
        return dialog

    @Slot()
    def _forget_dialog(self) -> None:
        self.dialog = None


def install_review_action(parts: WindowParts) -> ReviewAction:
    return ReviewAction(parts)
