"""The Settings dialog's desktop preferences: theme, notifications, the ingest dialog."""

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
        self.skip_dialog = QCheckBox("Skip the ingest dialog when a shared template matches")
        self.skip_dialog.setAccessibleName("Skip the ingest dialog for template matches")
        self.skip_dialog.setToolTip(
            "Files that match a shared template start with its choices; the status bar names it"
        )
        form = QFormLayout(self)
        form.addRow("Theme", self.theme)
        form.addRow("", self.notify)
        form.addRow("", self.skip_dialog)

    def fields(self) -> dict[str, QWidget]:
        return {
            "theme": self.theme,
            "notify_when_done": self.notify,
            "skip_dialog_when_template_matches": self.skip_dialog,
        }
