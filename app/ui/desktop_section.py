"""The Settings dialog's desktop preferences: colour theme and task notifications."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QWidget

_THEMES = (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark"))


class DesktopSection(QGroupBox):
    """Applies on Save, without a restart (unlike the connections)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("This desktop", parent)
        self.setAccessibleName("Desktop preferences")
        self.theme = QComboBox()
        self.theme.setAccessibleName("Colour theme")
        self.theme.setToolTip("Light or dark colours; by default the same as the system's")
        for label, value in _THEMES:
            self.theme.addItem(label, value)
        self.notify = QCheckBox("Notify me when a task I added succeeds or fails")
        self.notify.setAccessibleName("Task notifications")
        self.notify.setToolTip(
            "A message from the system tray (or the status bar where there is no tray)"
        )
        form = QFormLayout(self)
        form.addRow("Theme", self.theme)
        form.addRow("", self.notify)

    def fields(self) -> dict[str, QWidget]:
        return {"theme": self.theme, "notify_when_done": self.notify}
