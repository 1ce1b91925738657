"""Actions with a key of their own: the key shown in the tooltip and on the panel's buttons."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def key_text(action: QAction) -> str:
    """The action's key as this platform writes it ("Ctrl+Shift+E", "⇧⌘E" on macOS)."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def keyed_action(owner: QWidget, text: str, keys: str, tip: str) -> QAction:
    """An action whose key works while `owner` is shown (Qt matches a window shortcut only for
    visible widgets), so a panel's keys act on what the panel shows."""
    action = QAction(text, owner)
    action.setShortcut(QKeySequence(keys))
    action.setToolTip(f"{tip} ({key_text(action)})")
    action.setStatusTip(tip)
    # A button given this action says its key too, so it can be learnt without hovering.
    action.setIconText(f"{text} ({key_text(action)})")
    owner.addAction(action)
    return action
