"""What the window remembers between runs: geometry, splitter and columns, and removed tasks."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from app.services.settings import config_dir
from app.ui.window_parts import WindowParts

# Removed tasks: ids only; the oldest are forgotten first (a forgotten one reappears, which loses
# nothing: the task and its history were never deleted).
_LIMIT = 20_000
_KEY = "hiddenTasks"


def window_store() -> QSettings:
    # Beside settings.toml rather than the registry or ~/.config/<org>: one folder to back up
    # or delete, and tests that move the config folder never touch the user's.
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


def restore_layout(parts: WindowParts) -> None:
    store = window_store()
    for key, restore in (
        ("geometry", parts.window.restoreGeometry),
        ("splitter", parts.splitter.restoreState),
        ("columns", parts.table.horizontalHeader().restoreState),
    ):
        value = store.value(key)
        if isinstance(value, QByteArray):
            restore(value)
    header = parts.table.horizontalHeader()
    parts.table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())


def save_layout(parts: WindowParts) -> None:
    store = window_store()
    store.setValue("geometry", parts.window.saveGeometry())
    store.setValue("splitter", parts.splitter.saveState())
    store.setValue("columns", parts.table.horizontalHeader().saveState())
    store.sync()



class HiddenTasks:
    """The store keeps every task and its history; this list only filters what the table shows."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store or window_store()
        value = self._store.value(_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        self._ids: list[str] = [str(item) for item in value] if isinstance(value, list) else []

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._ids)

    def add(self, task_id: str) -> None:
        if task_id in self._ids:
            return
        self._ids.append(task_id)
        del self._ids[:-_LIMIT]
        self._save()

    def clear(self) -> tuple[str, ...]:
        """Forget them all; returns the ids so the caller can bring the tasks back."""
        ids, self._ids = tuple(self._ids), []
        self._save()
        return ids

    def _save(self) -> None:
        self._store.setValue(_KEY, self._ids)
        self._store.sync()
