"""A read-only table model over rows of text, for the details panel's small tables."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt

from app.ui.table_base import AnyIndex, ReadOnlyTableModel


class RecordTableModel(ReadOnlyTableModel):
    """Headers plus rows of strings; each reset replaces everything (these tables are small)."""

    def __init__(
        self,
        headers: Sequence[str],
        *,
        right_aligned: Sequence[int] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._headers = tuple(headers)
        self._rows: list[tuple[str, ...]] = []
        self._right = frozenset(right_aligned)

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        width = len(self._headers)
        self.beginResetModel()
        # Short rows are padded so a missing value never becomes an out-of-range cell.
        self._rows = [tuple(list(row[:width]) + [""] * (width - len(row))) for row in rows]
        self.endResetModel()

    def row_values(self, row: int) -> tuple[str, ...]:
        return self._rows[row]

    def row_total(self) -> int:
        return len(self._rows)

    def column_total(self) -> int:
        return len(self._headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation is Qt.Orientation.Horizontal
            and 0 <= section < len(self._headers)
        ):
            return self._headers[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self._right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
