"""Review…: answer the day/month question holding a task, or confirm a held one, and carry on."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.domain.store import EventKind
from app.domain.tasks import TaskState
from app.domain.validation import ColumnType, Verdict
from app.ui.main_window import MainWindow
from app.ui.review_action import ReviewKind, review_question
from app.ui.review_dialog import CorrectionDialog
from tests.ui.test_ingest_dialog_columns import set_type
from tests.validation.test_corrections import typo_csv

from .ui_helpers import drop_and_start, make_task


def _ambiguous_csv(folder: Path) -> Path:
    path = folder / "visits.csv"
    lines = ["day,visits"] + [f"{d:02d}/{m:02d}/2024,{d + m}" for d in range(1, 13)
                              for m in range(1, 13)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _task_in(window: MainWindow, name: str) -> object:
    for row in range(window.model.rowCount()):
        task = window.model.task_at(row)
        if task.file_name == name:
            return task
    return None


def test_day_month_question_is_answered_and_the_file_validated_again(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    source = _ambiguous_csv(tmp_path)
    drop_and_start(qtbot, window, [source])

    def held() -> bool:
        task = _task_in(window, "visits.csv")
        return getattr(task, "state", None) is TaskState.NEEDS_REVIEW

    qtbot.waitUntil(held, timeout=30_000)
    task = _task_in(window, "visits.csv")
    assert window.select_task(task.id)  # type: ignore[attr-defined]
    report = window.controller.report(task.id)  # type: ignore[attr-defined]
    assert report is not None and report.pending
    asked = review_question(task, report, uploads=False)  # type: ignore[arg-type]
    assert asked is not None and asked.kind is ReviewKind.DATE_ORDER
    assert "day first" in asked.question
    assert window.review.action.isEnabled()

    box = window.review.open()
    assert isinstance(box, QMessageBox)
    day_first = next(b for b in box.buttons() if "Day first" in b.text())
    with qtbot.waitSignal(window.controller.taskValidated, timeout=30_000) as done:
        day_first.click()
    result = done.args[0]
    assert result.report is not None
    assert result.report.verdict is Verdict.VALID
    assert not result.report.pending
    assert result.report.timestamp is not None
    assert result.report.timestamp.date_order is not None
    assert result.report.timestamp.date_order.value == "day_first"
    # Valid now, and on an embedded desk there is nothing further to ask.
    qtbot.waitUntil(lambda: not window.review.action.isEnabled(), timeout=5000)


def test_nothing_to_review_without_a_report_or_on_an_embedded_valid_file() -> None:
    held = make_task(1, state=TaskState.NEEDS_REVIEW)
    assert review_question(held, None, uploads=True) is None
    assert review_question(make_task(2, state=TaskState.FAILED), None, uploads=True) is None


def test_review_corrects_an_invalid_files_columns_and_validates_it_again(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, screenshot: object
) -> None:
    source = typo_csv(tmp_path)
    drop_and_start(qtbot, window, [source])
    qtbot.waitUntil(
        lambda: getattr(_task_in(window, "orders.csv"), "state", None) is TaskState.INVALID,
        timeout=30_000,
    )
    task = _task_in(window, "orders.csv")
    assert window.select_task(task.id)  # type: ignore[attr-defined]
    qtbot.waitUntil(window.review.action.isEnabled, timeout=5_000)
    dialog = window.review.open()
    assert isinstance(dialog, CorrectionDialog)
    qtbot.waitUntil(lambda: dialog.grid.grid_model.rowCount() == 4, timeout=10_000)
    set_type(qtbot, dialog, "quantity", ColumnType.TEXT)  # type: ignore[arg-type]
    set_type(qtbot, dialog, "amount", ColumnType.TEXT)  # type: ignore[arg-type]
    screenshot(dialog, "review-correct-columns")  # type: ignore[operator]
    qtbot.waitUntil(dialog.again.isEnabled, timeout=5_000)
    dialog.again.click()
    qtbot.waitUntil(
        lambda: getattr(_task_in(window, "orders.csv"), "state", None) is TaskState.READY,
        timeout=30_000,
    )
    store = window.controller.session.store  # type: ignore[union-attr]
    assert [t.id for t in store.tasks.list_tasks()] == [task.id]  # type: ignore[attr-defined]
    kinds = [e.kind for e in store.tasks.history(task.id)]  # type: ignore[attr-defined]
    assert EventKind.RETRIED in kinds
    kept = store.tasks.choices(task.id)  # type: ignore[attr-defined]
    assert kept is not None
    assert {c["name"]: c["type"] for c in kept["columns"]} == {
        "quantity": "text", "amount": "text",
    }
