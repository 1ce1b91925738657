"""The ingest dialog's column grid and reading options, driven as a user would; the choices it
returns are validated and staged for real and the staged file read back with Polars."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from app.domain.tasks import IngestMode
from app.domain.validation import ColumnType, Verdict
from app.pipeline.choices import IngestChoices
from app.ui.column_grid import ColumnGridModel, GridColumn
from app.ui.ingest_dialog import IngestDialog
from app.ui.ingest_drafts import IngestRequest
from app.ui.main_window import MainWindow
from tests.ui.test_ingest_dialog import Screenshot, open_dialog, settled
from tests.validation.test_corrections import run, spec_columns, staged_frame, typo_csv


def _row(model: ColumnGridModel, source: str) -> int:
    return next(i for i, row in enumerate(model.rows) if row.source == source)


def _edit(qtbot: QtBot, dialog: IngestDialog, source: str, column: GridColumn) -> object:
    grid = dialog.grid
    index = grid.model().index(_row(grid.grid_model, source), column)
    # Keys go to the active window's focus: an inactive dialog would see its editor lose focus
    # (and close) before the keys arrive.
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5_000)
    grid.setFocus()
    grid.setCurrentIndex(index)
    qtbot.keyClick(grid, Qt.Key.Key_F2)
    editor = grid.indexWidget(index)  # the delegate's editor, open on that cell
    assert editor is not None
    return editor


def set_type(qtbot: QtBot, dialog: IngestDialog, source: str, kind: ColumnType) -> None:
    combo = _edit(qtbot, dialog, source, GridColumn.TYPE)
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData(kind))
    qtbot.keyClick(combo, Qt.Key.Key_Return)


def rename(qtbot: QtBot, dialog: IngestDialog, source: str, name: str) -> None:
    line = _edit(qtbot, dialog, source, GridColumn.NAME)
    assert isinstance(line, QLineEdit)
    line.selectAll()
    qtbot.keyClicks(line, name)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def leave_out(qtbot: QtBot, dialog: IngestDialog, source: str) -> None:
    grid = dialog.grid
    grid.setFocus()
    grid.setCurrentIndex(grid.model().index(_row(grid.grid_model, source), GridColumn.INCLUDE))
    qtbot.keyClick(grid, Qt.Key.Key_Space)


def start(qtbot: QtBot, window: MainWindow, dialog: IngestDialog) -> IngestChoices:
    with qtbot.waitSignal(dialog.startRequested, timeout=10_000) as started:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    request = started.args[0]
    assert isinstance(request, IngestRequest)
    qtbot.waitUntil(lambda: settled(window, len(request.files)), timeout=30_000)
    return request.files[0][1]


def test_grid_model_passes_the_model_tester(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, qtmodeltester: object
) -> None:
    dialog = open_dialog(qtbot, window, [typo_csv(tmp_path)])
    qtmodeltester.check(dialog.grid.grid_model)  # type: ignore[attr-defined]
    dialog.reject()


def test_type_rename_and_skip_reach_the_staged_file_and_spec(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, screenshot: Screenshot
) -> None:
    path = typo_csv(tmp_path)
    dialog = open_dialog(qtbot, window, [path])
    model = dialog.grid.grid_model
    assert [row.source for row in model.rows] == ["order_date", "customer", "quantity", "amount"]
    quantity = model.rows[_row(model, "quantity")]
    assert quantity.sampled is ColumnType.INTEGER  # the typo does not make it text
    tip = model.index(_row(model, "quantity"), GridColumn.TYPE).data(Qt.ItemDataRole.ToolTipRole)
    assert "sampled values" in tip

    set_type(qtbot, dialog, "amount", ColumnType.TEXT)
    leave_out(qtbot, dialog, "quantity")
    rename(qtbot, dialog, "customer", "__time")
    assert model.rows[_row(model, "customer")].name == "__time", model.rows
    assert dialog.corrections.reason.isVisible()
    assert "Druid's row timestamp" in dialog.corrections.reason.text()
    assert not dialog.start_button.isEnabled()
    rename(qtbot, dialog, "customer", "amount")
    assert "already called 'amount'" in dialog.corrections.reason.text()
    rename(qtbot, dialog, "customer", "customer_id")
    assert not dialog.corrections.reason.isVisible() and dialog.start_button.isEnabled()
    assert model.index(_row(model, "quantity"), GridColumn.INCLUDE).data() == "skipped"
    screenshot(dialog, "ingest-dialog-columns")

    choices = start(qtbot, window, dialog)
    assert {rule.name: rule for rule in choices.columns}["quantity"].skip
    outcome, staged = run(path, choices, tmp_path / "out")
    assert outcome.report.verdict is Verdict.VALID and staged is not None, (
        outcome.report.errors, choices
    )
    frame = staged_frame(staged)
    assert set(frame.columns) == {"__time", "customer_id", "amount"}
    assert frame.get_column("amount").dtype == pl.String
    assert spec_columns(staged) == ["customer_id", "amount"]


def test_typo_columns_as_text_make_the_file_valid(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = typo_csv(tmp_path)
    dialog = open_dialog(qtbot, window, [path])
    set_type(qtbot, dialog, "quantity", ColumnType.TEXT)
    set_type(qtbot, dialog, "amount", ColumnType.TEXT)
    choices = start(qtbot, window, dialog)
    outcome, staged = run(path, choices, tmp_path / "out")
    assert outcome.report.verdict is Verdict.VALID and staged is not None
    assert staged_frame(staged).get_column("quantity").to_list()[4] == "three"


def test_header_row_below_title_lines_is_read_again_in_place(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "titled.csv"
    body = "\n".join(f"2024-03-{d:02d},{d},{d * 2}" for d in range(1, 11))
    path.write_text("Monthly export,,\nGenerated by the till,,\nday,visits,sales\n" + body + "\n")
    dialog = open_dialog(qtbot, window, [path])
    reading = dialog.corrections.reading
    reading.header_row.setFocus()
    reading.header_row.selectAll()
    with qtbot.waitSignal(dialog.lookFinished, timeout=30_000):
        qtbot.keyClicks(reading.header_row, "3")
        qtbot.keyClick(reading.header_row, Qt.Key.Key_Tab)
    assert [row.source for row in dialog.grid.grid_model.rows] == ["day", "visits", "sales"]
    choices = start(qtbot, window, dialog)
    assert choices.header_row == 3
    outcome, staged = run(path, choices, tmp_path / "out")
    assert staged is not None, outcome.report.issues
    frame = staged_frame(staged)
    assert frame.height == 10 and frame.get_column("sales").to_list()[:2] == [2, 4]


@pytest.mark.parametrize("encoding", ["cp1252"])
def test_encoding_correction_shows_the_accents(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "clients.csv"
    names = ["José", "Zoë", "François", "Mañana"] * 5
    rows = [f"2024-01-{i + 1:02d},{name},{i}" for i, name in enumerate(names)]
    path.write_bytes(("day,client,visits\n" + "\n".join(rows) + "\n").encode(encoding))
    dialog = open_dialog(qtbot, window, [path])
    combo = dialog.corrections.reading.encoding
    with qtbot.waitSignal(dialog.lookFinished, timeout=30_000):
        combo.setCurrentIndex(combo.findData("utf-8"))
        combo.activated.emit(combo.currentIndex())
    wrong = dialog.current()
    assert wrong is not None and wrong.encoding == "utf-8"
    with qtbot.waitSignal(dialog.lookFinished, timeout=30_000):
        combo.setCurrentIndex(combo.findData(encoding))
        combo.activated.emit(combo.currentIndex())
    choices = start(qtbot, window, dialog)
    assert choices.encoding == encoding and choices.mode is IngestMode.APPEND
    _, staged = run(path, choices, tmp_path / "out")
    assert staged is not None
    assert staged_frame(staged).get_column("client").to_list()[:4] == names[:4]
