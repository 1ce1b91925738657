"""Paints the progress cell: the stage name and a bar, without a widget per row."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.ui.task_format import TONE_COLORS, StageView
from app.ui.task_model import TaskRole

_BAR_HEIGHT = 5
_PADDING = 6


class ProgressDelegate(QStyledItemDelegate):
    """Text on top, a thin bar below; an unknown amount shows as a hatched full-width bar."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        stage = index.data(TaskRole.STAGE)
        if not isinstance(stage, StageView):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The themed background and selection highlight, exactly as other cells get them.
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        rect = opt.rect.adjusted(_PADDING, 3, -_PADDING, -4)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_role = (
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        color = QColor(TONE_COLORS[stage.tone])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_rect = rect.adjusted(0, 0, 0, -(_BAR_HEIGHT + 3))
        painter.setPen(opt.palette.color(text_role))
        metrics = opt.fontMetrics
        elided = metrics.elidedText(stage.text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), elided
        )

        bar = QRectF(rect.left(), rect.bottom() - _BAR_HEIGHT, rect.width(), _BAR_HEIGHT)
        trough = QColor(opt.palette.color(QPalette.ColorRole.Mid))
        trough.setAlpha(90)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(trough)
        painter.drawRoundedRect(bar, 2.5, 2.5)
        if stage.fraction is None:
            painter.setBrush(QBrush(color, Qt.BrushStyle.BDiagPattern))
            painter.drawRoundedRect(bar, 2.5, 2.5)
        elif stage.fraction > 0:
            filled = QRectF(bar)
            filled.setWidth(max(_BAR_HEIGHT, bar.width() * stage.fraction))
            painter.setBrush(color)
            painter.drawRoundedRect(filled, 2.5, 2.5)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(max(base.width(), 200), base.height() + _BAR_HEIGHT + 6)
