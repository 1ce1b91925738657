"""A small painted bar chart of rows per day, so gaps and spikes show before the ingest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from PySide6.QtCore import QEvent, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QToolTip, QWidget

from app.domain.validation import DayCount
from app.ui.task_format import TONE_COLORS, Tone

_PAD = 4
_GAP_COLOR = TONE_COLORS[Tone.ATTENTION]


def _day_text(day: date) -> str:
    return f"{day:%a} {day.isoformat()}"


class DayChart(QWidget):
    """One bar per calendar day from the first to the last; a day without rows is a gap,
    marked on the baseline so it cannot be mistaken for a very small bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: dict[date, int] = {}
        self._first: date | None = None
        self._span = 0
        self._peak = 0
        self._hovered: int | None = None
        self.setMouseTracking(True)
        self.setAccessibleName("Rows per day")
        self.setMinimumSize(160, 72)
        self.set_days(())

    # -- data ----------------------------------------------------------------------------------

    def set_days(self, days: Sequence[DayCount]) -> None:
        self._counts = {d.day: d.rows for d in days}
        ordered = sorted(self._counts)
        self._first = ordered[0] if ordered else None
        self._span = (ordered[-1] - ordered[0]).days + 1 if ordered else 0
        self._peak = max(self._counts.values(), default=0)
        self._hovered = None
        self.setAccessibleDescription(self.summary())
        self.setToolTip("" if ordered else self.summary())
        self.update()

    @property
    def span(self) -> int:
        """Calendar days from the first to the last day with rows, both included."""
        return self._span

    def missing_days(self) -> list[date]:
        if self._first is None:
            return []
        days = (self._first + timedelta(days=i) for i in range(self._span))
        return [d for d in days if d not in self._counts]

    def summary(self) -> str:
        if self._first is None:
            return "No rows per day: the file has no time column yet."
        total = sum(self._counts.values())
        last = self._first + timedelta(days=self._span - 1)
        busiest = max(self._counts, key=lambda d: (self._counts[d], -d.toordinal()))
        missing = self._span - len(self._counts)
        gaps = f"{missing:,} day{'s' if missing != 1 else ''} without rows" if missing else (
            "no day without rows"
        )
        return (
            f"{total:,} rows over {self._span:,} day{'s' if self._span != 1 else ''}, "
            f"{self._first.isoformat()} to {last.isoformat()}; {gaps}; busiest day "
            f"{busiest.isoformat()} with {self._counts[busiest]:,} rows."
        )

    def tooltip_for(self, day: date) -> str:
        rows = self._counts.get(day)
        return f"{_day_text(day)}: {rows:,} rows" if rows else f"{_day_text(day)}: no rows"

    # -- geometry ------------------------------------------------------------------------------

    def _plot(self) -> QRectF:
        line = self.fontMetrics().height()
        area = QRectF(self.contentsRect()).adjusted(_PAD, _PAD, -_PAD, -_PAD)
        return area.adjusted(0, line + 2, 0, -(line + 4))

    def day_at(self, x: float) -> date | None:
        """The day whose slot holds x (widget coordinates), or None outside the bars."""
        plot = self._plot()
        if self._first is None or not plot.left() <= x < plot.right():
            return None
        index = int((x - plot.left()) / plot.width() * self._span)
        return self._first + timedelta(days=min(index, self._span - 1))

    def bar_rect(self, day: date) -> QRectF:
        """Where the day's bar is painted (a zero-height rectangle on the baseline for a gap)."""
        assert self._first is not None
        plot = self._plot()
        slot = plot.width() / self._span
        index = (day - self._first).days
        gap = 1.0 if slot >= 4 else 0.0
        rows = self._counts.get(day, 0)
        height = 0.0 if not rows else max(1.0, rows / self._peak * plot.height())
        width = max(1.0, slot - gap)
        return QRectF(plot.left() + index * slot, plot.bottom() - height, width, height)

    # -- Qt ------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(360, 96)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            day = self.day_at(event.pos().x())
            if day is not None:
                QToolTip.showText(event.globalPos(), self.tooltip_for(day), self)
                return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        day = self.day_at(event.position().x())
        hovered = None if day is None or self._first is None else (day - self._first).days
        if hovered != self._hovered:
            self._hovered = hovered
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._hovered is not None:
            self._hovered = None
            self.update()
        super().leaveEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        plot = self._plot()
        metrics = self.fontMetrics()
        if self._first is None:
            painter.setPen(muted)
            painter.drawText(QRectF(self.contentsRect()), Qt.AlignmentFlag.AlignCenter, "No dates")
            return
        bar = palette.color(QPalette.ColorRole.Highlight)
        hover = QColor(bar).darker(140) if bar.lightness() > 96 else QColor(bar).lighter(140)
        gap = QColor(_GAP_COLOR)
        slot = plot.width() / self._span
        previous: date | None = None
        # Only days with rows are visited: a stray date decades away must not cost a loop a day.
        for day in sorted(self._counts):
            index = (day - self._first).days
            painter.fillRect(self.bar_rect(day), hover if index == self._hovered else bar)
            if previous is not None and (day - previous).days > 1:
                start = plot.left() + ((previous - self._first).days + 1) * slot
                width = ((day - previous).days - 1) * slot
                painter.fillRect(QRectF(start, plot.bottom() - 1, max(1.0, width), 3), gap)
            previous = day
        baseline = QColor(text)
        baseline.setAlphaF(0.6)
        painter.setPen(baseline)
        y = int(plot.bottom())
        painter.drawLine(QPoint(int(plot.left()), y), QPoint(int(plot.right()), y))

        painter.setPen(muted)
        top = QRectF(plot.left(), _PAD, plot.width(), metrics.height())
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft, f"Rows per day · peak {self._peak:,}")
        missing = self._span - len(self._counts)
        if missing:
            painter.setPen(gap)
            painter.drawText(top, Qt.AlignmentFlag.AlignRight, f"{missing:,} without rows")
        painter.setPen(text)
        under = QRectF(plot.left(), plot.bottom() + 3, plot.width(), metrics.height())
        last = self._first + timedelta(days=self._span - 1)
        painter.drawText(under, Qt.AlignmentFlag.AlignLeft, self._first.isoformat())
        if last != self._first:
            painter.drawText(under, Qt.AlignmentFlag.AlignRight, last.isoformat())
