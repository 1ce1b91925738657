"""The column grid: per source column its Druid name, type (with the sample's evidence), include."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from app.domain.rules import ColumnRule, Template
from app.domain.validation import ColumnType
from app.pipeline.look import FileLook, column_name_problem
from app.ui.task_format import TONE_COLORS, Tone

AnyIndex = QModelIndex | QPersistentModelIndex
_TYPE_WORDS = {
    ColumnType.TEXT: "text",
    ColumnType.INTEGER: "integer",
    ColumnType.DECIMAL: "decimal",
    ColumnType.BOOLEAN: "boolean",
    ColumnType.TIMESTAMP: "timestamp",
}
TYPE_CHOICES = tuple(_TYPE_WORDS)


class GridColumn(enum.IntEnum):
    SOURCE = 0
    NAME = 1
    TYPE = 2
    INCLUDE = 3


_HEADERS = {
    GridColumn.SOURCE: "Source column",
    GridColumn.NAME: "Druid column",
    GridColumn.TYPE: "Type",
    GridColumn.INCLUDE: "Include",
}
_HEADER_TIPS = {
    GridColumn.SOURCE: "The column's header in the file",
    GridColumn.NAME: "The column's name in Druid: double-click or F2 to rename",
    GridColumn.TYPE: "Guessed from the first rows (hover for the evidence); pick another to "
    "override it, e.g. text for codes with typos",
    GridColumn.INCLUDE: "Untick to leave the column out of the staging file and of Druid",
}


@dataclass(frozen=True, slots=True)
class GridRow:
    """One source column: what the sample says and what the user made of it."""

    source: str
    sampled: ColumnType
    evidence: str
    name: str  # in Druid
    type: ColumnType | None = None  # None: as sampled
    include: bool = True

    @property
    def effective_type(self) -> ColumnType:
        return self.type or self.sampled


class ColumnGridModel(QAbstractTableModel):
    """Rows come from a look at the file and the rules already chosen; edits come out as
    `rules()` (one ColumnRule per changed column) with `rulesChanged`."""

    rulesChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[GridRow] = []
        self._time_column: str | None = None
        self._problems: dict[int, str] = {}

    # -- filling -------------------------------------------------------------------------------

    def set_look(self, look: FileLook, template: Template | None) -> None:
        """The look's columns with `template`'s renames, types and skips laid over them."""
        rows: list[GridRow] = []
        for column in look.columns:
            rule = template.rule(column.name) if template else None
            rows.append(
                GridRow(
                    source=column.name,
                    sampled=column.type,
                    evidence=column.evidence or f"{column.type.value}: from the first rows",
                    name=rule.rename if rule and rule.rename else column.name,
                    type=rule.type if rule else None,
                    include=not (rule and rule.skip),
                )
            )
        self.beginResetModel()
        self._rows = rows
        self._check_names()
        self.endResetModel()

    def set_time_column(self, column: str | None) -> None:
        """That column becomes Druid's __time: its name is not checked against the others."""
        self._time_column = column
        self._recheck()

    # -- what came out -------------------------------------------------------------------------

    @property
    def rows(self) -> tuple[GridRow, ...]:
        return tuple(self._rows)

    def rules(self) -> tuple[ColumnRule, ...]:
        """The user's corrections: a rule for every column renamed, retyped or left out."""
        return tuple(
            ColumnRule(
                row.source,
                type=row.type,
                rename=row.name if row.name != row.source else None,
                skip=not row.include,
            )
            for row in self._rows
            if row.name != row.source or row.type is not None or not row.include
        )

    def problem(self, row: int) -> str | None:
        return self._problems.get(row)

    def first_problem(self) -> str | None:
        for row in sorted(self._problems):
            return f"Column '{self._rows[row].source}': {self._problems[row]}"
        return None

    def _check_names(self) -> None:
        problems: dict[int, str] = {}
        seen: dict[str, str] = {}
        for index, row in enumerate(self._rows):
            if not row.include or row.source == self._time_column:
                continue
            problem = column_name_problem(row.name)
            if problem is None and row.name in seen:
                problem = f"'{seen[row.name]}' is already called '{row.name}' in Druid."
            if problem is not None:
                problems[index] = problem
            seen.setdefault(row.name, row.source)
        self._problems = problems

    def _recheck(self) -> None:
        before = dict(self._problems)
        self._check_names()
        if before != self._problems and self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(self.index(0, GridColumn.NAME), self.index(last, GridColumn.NAME))

    # -- Qt model ------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(GridColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation is not Qt.Orientation.Horizontal or section not in _HEADERS:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[GridColumn(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[GridColumn(section)]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        column = GridColumn(index.column())
        if column is GridColumn.INCLUDE:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        if column in (GridColumn.NAME, GridColumn.TYPE) and self._rows[index.row()].include:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], GridColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(row, column, role == Qt.ItemDataRole.EditRole)
        if role == Qt.ItemDataRole.CheckStateRole and column is GridColumn.INCLUDE:
            return Qt.CheckState.Checked if row.include else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(index.row(), row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column is GridColumn.NAME and index.row() in self._problems:
                return QBrush(QColor(TONE_COLORS[Tone.ERROR]))
            if not row.include:
                return QBrush(QColor(TONE_COLORS[Tone.NEUTRAL]))
        return None

    def _text(self, row: GridRow, column: GridColumn, editing: bool) -> object:
        if column is GridColumn.SOURCE:
            return row.source
        if column is GridColumn.NAME:
            if not editing and row.source == self._time_column:
                return f"{row.name} → __time"
            return row.name
        if column is GridColumn.TYPE:
            if editing:
                return row.type
            word = _TYPE_WORDS[row.effective_type]
            return f"{word} (yours)" if row.type is not None else word
        return "" if row.include else "skipped"

    def _tip(self, index: int, row: GridRow, column: GridColumn) -> str | None:
        if column is GridColumn.TYPE:
            mine = f"Your choice: {row.type.value}. " if row.type is not None else ""
            return f"{mine}Sampled: {row.evidence}"
        if column is GridColumn.NAME:
            if index in self._problems:
                return self._problems[index]
            if row.source == self._time_column:
                return "The timestamp column becomes Druid's __time"
            return "The column's name in Druid"
        if column is GridColumn.INCLUDE:
            return "Included" if row.include else "Left out: not checked, staged or sent"
        return None

    def setData(self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid():
            return False
        role = Qt.ItemDataRole(role)  # a view passes a plain int
        at, column = index.row(), GridColumn(index.column())
        row = self._rows[at]
        if column is GridColumn.INCLUDE and role == Qt.ItemDataRole.CheckStateRole:
            checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
            updated = replace(row, include=checked)
        elif column is GridColumn.NAME and role == Qt.ItemDataRole.EditRole:
            # Surrounding spaces are kept so the inline check can say what is wrong with them.
            updated = replace(row, name=str(value) if value is not None else "")
        elif column is GridColumn.TYPE and role == Qt.ItemDataRole.EditRole:
            # A combo hands its item data back as a plain string (Qt keeps no Python enum).
            chosen = ColumnType(value) if value in _TYPE_VALUES else None
            updated = replace(row, type=None if chosen is row.sampled else chosen)
        else:
            return False
        if updated == row:
            return True
        self._rows[at] = updated
        self._check_names()
        last = len(self._rows) - 1
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(GridColumn) - 1))
        self.dataChanged.emit(self.index(0, GridColumn.NAME), self.index(last, GridColumn.NAME))
        self.rulesChanged.emit()
        return True


_TYPE_VALUES = frozenset(kind.value for kind in ColumnType)


class CommitOnEnterDelegate(QStyledItemDelegate):
    """Enter in an editor saves the cell at once and goes no further: Qt's own handling saves
    it a moment later and lets the key reach the dialog, whose default button would start the
    ingest while the user only meant to finish a cell."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            isinstance(watched, QWidget)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self.commitData.emit(watched)
            self.closeEditor.emit(watched, QAbstractItemDelegate.EndEditHint.NoHint)
            return True
        return super().eventFilter(watched, event)


class TypeDelegate(CommitOnEnterDelegate):
    """A combo of the types; the sampled one is marked, and picking it drops the override."""

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        combo = QComboBox(parent)
        combo.setAccessibleName("Column type")
        model = index.model()
        row = model.data(model.index(index.row(), GridColumn.SOURCE))
        sampled = _sampled(index)
        for kind in TYPE_CHOICES:
            label = _TYPE_WORDS[kind] + (" (as sampled)" if kind is sampled else "")
            combo.addItem(label, kind)
        combo.setToolTip(f"The type of '{row}' in Druid")
        return combo

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        assert isinstance(editor, QComboBox)
        chosen = index.data(Qt.ItemDataRole.EditRole) or _sampled(index)
        editor.setCurrentIndex(max(editor.findData(chosen), 0))

    def setModelData(
        self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex
    ) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


def _sampled(index: AnyIndex) -> ColumnType | None:
    model = index.model()
    if isinstance(model, ColumnGridModel) and 0 <= index.row() < len(model.rows):
        return model.rows[index.row()].sampled
    return None


class ColumnGrid(QTableView):
    """The grid's view: keyboard editing (F2, or typing), a type combo, checkboxes to include."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid_model = ColumnGridModel(self)
        self.setModel(self.grid_model)
        self.types = TypeDelegate(self)
        self.setItemDelegateForColumn(GridColumn.TYPE, self.types)
        self.names = CommitOnEnterDelegate(self)
        self.setItemDelegateForColumn(GridColumn.NAME, self.names)
        self.setAccessibleName("Columns")
        self.setToolTip("Each column of the file: rename it, change its type or leave it out")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setTabKeyNavigation(False)  # Tab leaves the grid; arrows move inside it
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(GridColumn.SOURCE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(GridColumn.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(GridColumn.TYPE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(GridColumn.INCLUDE, QHeaderView.ResizeMode.ResizeToContents)
        self.setMinimumHeight(150)
