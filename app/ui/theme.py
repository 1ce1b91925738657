"""Light and dark palettes on the Fusion style, following the OS colour scheme as it changes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory


class Scheme(enum.StrEnum):
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True, slots=True)
class _Colors:
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    button: str
    highlight: str
    highlighted_text: str
    link: str
    tooltip: str
    mid: str
    disabled: str  # greyed-out text: clearly unlike enabled text (no contrast minimum applies)


# Fusion everywhere: the native Windows styles ignore a dark palette, and one style means one
# look to test. The colours keep text contrast above WCAG AA against their backgrounds.
_LIGHT = _Colors(
    window="#f3f4f6", base="#ffffff", alternate="#f6f8fa", text="#1f2328", muted="#5f6672",
    button="#eceef1", highlight="#1d64c2", highlighted_text="#ffffff", link="#1f6fd1",
    tooltip="#ffffe8", mid="#c9ced6", disabled="#a3a9b3",
)
_DARK = _Colors(
    window="#202327", base="#17191c", alternate="#1f2226", text="#e6e8eb", muted="#9aa1ab",
    button="#2b2f35", highlight="#2563b8", highlighted_text="#ffffff", link="#6fb1ff",
    tooltip="#2b2f35", mid="#3a3f46", disabled="#646b75",
)


def palette_for(scheme: Scheme) -> QPalette:
    colors = _DARK if scheme is Scheme.DARK else _LIGHT
    role = QPalette.ColorRole
    palette = QPalette()
    for color_role, value in (
        (role.Window, colors.window),
        (role.WindowText, colors.text),
        (role.Base, colors.base),
        (role.AlternateBase, colors.alternate),
        (role.Text, colors.text),
        (role.Button, colors.button),
        (role.ButtonText, colors.text),
        (role.BrightText, "#ffffff"),
        (role.Highlight, colors.highlight),
        (role.HighlightedText, colors.highlighted_text),
        (role.Link, colors.link),
        (role.LinkVisited, colors.link),
        (role.ToolTipBase, colors.tooltip),
        (role.ToolTipText, colors.text),
        (role.PlaceholderText, colors.muted),
        (role.Mid, colors.mid),
        (role.Midlight, colors.button),
        (role.Dark, colors.mid),
        (role.Shadow, "#000000"),
    ):
        palette.setColor(color_role, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for color_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, color_role, QColor(colors.disabled))
    return palette


def os_scheme() -> Scheme:
    """What the OS asks for; an unknown answer (old desktops, offscreen) means light."""
    hint = QGuiApplication.styleHints().colorScheme()
    return Scheme.DARK if hint == Qt.ColorScheme.Dark else Scheme.LIGHT


class ThemeController(QObject):
    """Applies the chosen theme; with "system" it follows the OS when the user switches."""

    def __init__(self, app: QApplication, choice: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self._choice = choice
        self.scheme = Scheme.LIGHT
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._os_changed)
        self.apply()

    def set_choice(self, choice: str) -> None:
        self._choice = choice
        self.apply()

    def apply(self) -> None:
        if self._choice == "dark":
            scheme = Scheme.DARK
        elif self._choice == "light":
            scheme = Scheme.LIGHT
        else:
            scheme = os_scheme()
        changed = scheme is not self.scheme
        self.scheme = scheme
        self._app.setPalette(palette_for(scheme))
        if changed:
            _refresh_style_sheets(self._app)

    @Slot(Qt.ColorScheme)
    def _os_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._choice == "system":
            self.apply()


def install_theme(choice: str) -> ThemeController:
    """One controller per application; a second call re-applies the choice on the first."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "the QApplication must exist first"
    existing = app.findChild(ThemeController)
    if isinstance(existing, ThemeController):
        existing.set_choice(choice)
        return existing
    return ThemeController(app, choice)


def apply_theme_choice(choice: str) -> None:
    """Settings saved: a new theme applies at once, no restart."""
    install_theme(choice)


def _refresh_style_sheets(app: QApplication) -> None:
    """Style sheets resolve palette(...) colours when set; set them again for the new palette."""
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if sheet:
            widget.setStyleSheet("")
            widget.setStyleSheet(sheet)
