"""Toolbar and menu icons: one-colour SVGs in resources/icons/actions, tinted for the palette."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QEvent, QObject
from PySide6.QtGui import QAction, QColor, QGuiApplication, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from app.ui.resources import resource_path

# Rendered at each size rather than scaled, so strokes stay crisp at 100 % to 200 % scaling.
_SIZES = (16, 24, 32, 48)


@cache
def _svg_source(name: str) -> str:
    return resource_path("icons", "actions", f"{name}.svg").read_text(encoding="utf-8")


def tinted_icon(name: str, color: QColor) -> QIcon:
    """The icon drawn in `color` (its SVG strokes use currentColor), normal and disabled."""
    source = _svg_source(name)
    icon = QIcon()
    muted = QColor(color)
    muted.setAlphaF(0.38)
    for mode, tint in ((QIcon.Mode.Normal, color), (QIcon.Mode.Disabled, muted)):
        # SVG takes the alpha as stroke-opacity, not as #AARRGGBB.
        svg = source.replace(
            'stroke="currentColor"',
            f'stroke="{tint.name()}" stroke-opacity="{tint.alphaF():.2f}"',
        )
        for size in _SIZES:
            pixmap = QPixmap(size, size)
            pixmap.fill(QColor(0, 0, 0, 0))
            if pixmap.loadFromData(QByteArray(svg.encode()), "SVG"):
                icon.addPixmap(pixmap.scaled(size, size), mode)
    return icon


class ActionIcons(QObject):
    """Keeps a set of actions' icons in the palette's text colour, also after a theme switch."""

    def __init__(self, actions: dict[QAction, str], parent: QObject) -> None:
        super().__init__(parent)
        self._actions = actions
        self.apply()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def add(self, action: QAction, name: str) -> None:
        self._actions[action] = name
        action.setIcon(tinted_icon(name, self._color()))

    def apply(self) -> None:
        color = self._color()
        for action, name in self._actions.items():
            action.setIcon(tinted_icon(name, color))

    @staticmethod
    def _color() -> QColor:
        return QGuiApplication.palette().color(QPalette.ColorRole.ButtonText)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        app = QApplication.instance()
        if event.type() == QEvent.Type.ApplicationPaletteChange and watched is app:
            self.apply()
        return False
