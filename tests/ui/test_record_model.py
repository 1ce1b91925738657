"""The details panel's small read-only tables."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from app.ui.record_model import RecordTableModel


def test_record_model_passes_qt_model_tester(qtmodeltester: ModelTester) -> None:
    model = RecordTableModel(["Row", "Column", "Message"], right_aligned=[0])
    qtmodeltester.check(model, force_py=True)
    # The tester stays attached: every reset below is checked as it happens.
    model.set_rows([("17", "qty", "not a number"), ("902",), ("1", "a", "b", "extra")])
    # Short rows are padded and long ones cut, so no cell is ever out of range.
    assert model.row_values(1) == ("902", "", "")
    assert model.row_values(2) == ("1", "a", "b")
    assert model.index(0, 0).data(Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )
    assert model.index(0, 2).data(Qt.ItemDataRole.TextAlignmentRole) is None
    model.set_rows([])
    assert model.rowCount() == 0
