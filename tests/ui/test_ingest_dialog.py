"""The ingest dialog on a drop: files listed, names checked, choices carried into the tasks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.domain.rules import ColumnRule, Template
from app.domain.tasks import IngestMode, TaskState
from app.ui.ingest_dialog import IngestDialog
from app.ui.main_window import MainWindow
from tests.ui.ui_helpers import SAMPLES, drop

Screenshot = Callable[[object, str], Path]
SETTLED = {TaskState.READY, TaskState.NEEDS_REVIEW, TaskState.INVALID, TaskState.CANCELLED}


def open_dialog(qtbot: QtBot, window: MainWindow, paths: list[Path]) -> IngestDialog:
    with qtbot.waitSignal(window.ingest_flow.dialogOpened, timeout=30_000) as opened:
        drop(window.drop_zone, paths)
    dialog = opened.args[0]
    assert isinstance(dialog, IngestDialog)
    return dialog


def settled(window: MainWindow, count: int) -> bool:
    model = window.model
    return (
        model.rowCount() == count
        and all(model.task_at(row).state in SETTLED for row in range(count))
        and window.controller.workers.active == 0
    )


def retype(qtbot: QtBot, dialog: IngestDialog, text: str) -> None:
    dialog.datasource.setFocus()
    dialog.datasource.selectAll()
    qtbot.keyClick(dialog.datasource, Qt.Key.Key_Backspace)
    qtbot.keyClicks(dialog.datasource, text)


def test_drop_shows_the_files_and_their_first_look(
    qtbot: QtBot, window: MainWindow, screenshot: Screenshot
) -> None:
    dialog = open_dialog(
        qtbot, window, [SAMPLES / "sales_clean.csv", SAMPLES / "stores_workbook.xlsx"]
    )
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000) as checked:
        pass  # the settle timer runs the (local-only) check once the dialog is up
    assert "Uploads need S3 and Druid" in checked.args[0]
    assert dialog.isVisible() and dialog.files.count() == 2
    assert dialog.files.item(0).text().startswith("sales_clean.csv\n→ sales_clean (append)")
    assert dialog.title.text() == "sales_clean.csv"
    assert dialog.datasource.text() == "sales_clean"
    assert [dialog.timestamp.itemText(i) for i in range(dialog.timestamp.count())] == [
        "order_date"
    ]
    assert not dialog.form.isRowVisible(dialog.sheet)  # a text file has no sheets
    assert not dialog.form.isRowVisible(dialog.date_order)
    assert dialog.note.isVisible() and "Uploads need S3 and Druid" in dialog.note.text()
    assert dialog.start_button.isDefault() and dialog.start_button.isEnabled()
    assert dialog.skip.isChecked()

    dialog.files.setCurrentRow(1)
    assert dialog.title.text() == "stores_workbook.xlsx"
    assert dialog.form.isRowVisible(dialog.sheet)
    assert [dialog.sheet.itemData(i) for i in range(dialog.sheet.count())] == [
        "Visits", "Refunds", "Read me",
    ]
    dialog.files.setCurrentRow(0)
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000):
        pass
    path = screenshot(dialog, "ingest-dialog")
    assert path.stat().st_size > 0
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and window.model.rowCount() == 0


def test_invalid_datasource_name_disables_start_with_the_reason(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = open_dialog(qtbot, window, [SAMPLES / "sales_clean.csv"])
    retype(qtbot, dialog, "sales/2024")
    assert dialog.datasource_reason.isVisible()
    assert "'sales/2024' is not a valid Druid datasource name: it contains '/'" in (
        dialog.datasource_reason.text()
    )
    assert not dialog.start_button.isEnabled()
    assert "it contains '/'" in dialog.start_button.toolTip()
    qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible()  # Ctrl+Enter does nothing while a name is invalid
    retype(qtbot, dialog, "sales_2024")
    assert not dialog.datasource_reason.isVisible() and dialog.start_button.isEnabled()
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000):
        pass
    dialog.reject()


def test_start_creates_tasks_with_the_chosen_datasource_mode_and_sheet(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = open_dialog(
        qtbot, window, [SAMPLES / "sales_clean.csv", SAMPLES / "stores_workbook.xlsx"]
    )
    dialog.files.setCurrentRow(1)
    dialog.sheet.setFocus()
    with qtbot.waitSignal(dialog.lookFinished, timeout=30_000):
        qtbot.keyClick(dialog.sheet, Qt.Key.Key_Down)  # Visits -> Refunds, as a user would
    assert dialog.current() is not None and dialog.current().look.sheet == "Refunds"  # type: ignore[union-attr]
    retype(qtbot, dialog, "store_refunds")
    qtbot.mouseClick(dialog.replace, Qt.MouseButton.LeftButton)
    assert dialog.files.item(1).text().endswith("→ store_refunds (replace)")
    dialog.files.setCurrentRow(0)
    retype(qtbot, dialog, "sales_q1")
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000):
        pass
    qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: settled(window, 2), timeout=30_000)
    tasks = {window.model.task_at(r).file_name: window.model.task_at(r) for r in range(2)}
    workbook, text = tasks["stores_workbook.xlsx"], tasks["sales_clean.csv"]
    assert (workbook.datasource, workbook.mode, workbook.sheet) == (
        "store_refunds", IngestMode.REPLACE, "Refunds"
    )
    assert (text.datasource, text.mode, text.sheet) == ("sales_q1", IngestMode.APPEND, None)
    report = window.controller.report(workbook.id)
    assert report is not None and report.sheet == "Refunds"


def test_apply_to_all_and_saving_a_template(qtbot: QtBot, window: MainWindow) -> None:
    dialog = open_dialog(
        qtbot, window, [SAMPLES / "sales_clean.csv", SAMPLES / "orders_with_errors.csv"]
    )
    retype(qtbot, dialog, "shop")
    qtbot.mouseClick(dialog.apply_all, Qt.MouseButton.LeftButton)
    assert [d.datasource for d in dialog.drafts] == ["shop", "shop"]
    dialog.save_template.setChecked(True)
    dialog.template_name.selectAll()
    qtbot.keyClicks(dialog.template_name, "shop sales")
    session = window.controller.session
    assert session is not None
    with qtbot.waitSignal(window.controller.notice, timeout=30_000,
                          check_params_cb=lambda text: "Saved the shared template" in text):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    stored = session.store.templates.latest("shop sales")
    assert stored is not None and stored.template.datasource == "shop"
    assert "order_date" in {rule.name for rule in stored.template.columns}
    qtbot.waitUntil(lambda: settled(window, 2), timeout=30_000)
    assert {window.model.task_at(r).datasource for r in range(2)} == {"shop"}


def test_every_file_matching_a_template_skips_the_dialog(
    qtbot: QtBot, window: MainWindow
) -> None:
    session = window.controller.session
    assert session is not None
    columns = ("order_date", "region", "sku", "product", "quantity", "unit_price", "revenue")
    session.store.templates.save(
        Template("weekly sales", datasource="sales_weekly", columns=tuple(
            ColumnRule(name) for name in columns
        ), mode="replace"),
        expected_version=0, by_client=session.client.id,
    )
    opened: list[object] = []
    window.ingest_flow.dialogOpened.connect(opened.append)
    with qtbot.waitSignal(window.ingest_flow.startedWithTemplates, timeout=30_000) as used:
        drop(window.drop_zone, [SAMPLES / "sales_clean.csv"])
    assert used.args[0] == ["weekly sales"] and opened == []
    assert "weekly sales" in window.status.currentMessage()
    qtbot.waitUntil(lambda: settled(window, 1), timeout=30_000)
    task = window.model.task_at(0)
    assert (task.datasource, task.mode) == ("sales_weekly", IngestMode.REPLACE)

    # With the setting off, the same drop asks, with the template preselected.
    window.controller.settings = window.controller.settings.model_copy(
        update={"skip_dialog_when_template_matches": False}
    )
    dialog = open_dialog(qtbot, window, [SAMPLES / "sales_clean.csv"])
    assert dialog.template.currentText() == "weekly sales (v1)"
    assert dialog.datasource.text() == "sales_weekly" and dialog.replace.isChecked()
    assert not dialog.skip.isChecked()
    with qtbot.waitSignal(dialog.checkFinished, timeout=10_000):
        pass
    dialog.reject()
