"""Table model of a file's first rows as read, with each column's type and its evidence."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from app.domain.validation import CellValue, ColumnProfile, ColumnType, PreviewRow
from app.ui.table_base import AnyIndex, ReadOnlyTableModel

_NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL)


def preview_text(value: CellValue) -> str:
    """A cell as the file holds it: text untouched, workbook numbers and dates plainly written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float: 168.0 was typed as 168.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


class PreviewModel(ReadOnlyTableModel):
    """Rows are the report's preview; the header shows name and type, its tooltip the evidence."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns: tuple[ColumnProfile, ...] = ()
        self._rows: tuple[PreviewRow, ...] = ()

    def set_preview(self, columns: tuple[ColumnProfile, ...], rows: tuple[PreviewRow, ...]) -> None:
        self.beginResetModel()
        self._columns = columns
        # A row shorter than the header (never expected) must not become an out-of-range cell.
        self._rows = tuple(r for r in rows if len(r.values) >= len(columns))
        self.endResetModel()

    def row_total(self) -> int:
        return len(self._rows)

    def column_total(self) -> int:
        return len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation is Qt.Orientation.Vertical:
            if 0 <= section < len(self._rows):
                if role == Qt.ItemDataRole.DisplayRole:
                    return str(self._rows[section].row)
                if role == Qt.ItemDataRole.ToolTipRole:
                    return f"Row {self._rows[section].row} of the file"
            return None
        if not 0 <= section < len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{column.name}\n{column.type.value}"
        if role == Qt.ItemDataRole.ToolTipRole:
            overridden = " (set by the template)" if column.overridden else ""
            return f"{column.name}: {column.evidence}{overridden}"
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self._columns):
            return None
        value = self._rows[index.row()].values[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return preview_text(value)
        if (
            role == Qt.ItemDataRole.TextAlignmentRole
            and self._columns[index.column()].type in _NUMERIC
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
