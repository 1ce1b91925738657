"""Table model of a task's stages: when each began, how long it took, how it ended."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from app.domain.tasks import TaskState
from app.pipeline.timeline import StageOutcome, Timeline, TimelineStage
from app.ui.table_base import AnyIndex, ReadOnlyTableModel
from app.ui.task_format import STATE_LABELS, TONE_COLORS, Tone, human_duration


class TimelineColumn(enum.IntEnum):
    STAGE = 0
    STARTED = 1
    DURATION = 2
    OUTCOME = 3


_HEADERS = ("Stage", "Started", "Duration", "Outcome")
_OUTCOME_TONES = {
    StageOutcome.DONE: None,
    StageOutcome.RUNNING: Tone.ACTIVE,
    StageOutcome.SUCCEEDED: Tone.SUCCESS,
    StageOutcome.INVALID: Tone.ERROR,
    StageOutcome.FAILED: Tone.ERROR,
    StageOutcome.CANCELLED: Tone.NEUTRAL,
}
_OUTCOME_WORDS = {
    StageOutcome.DONE: "done",
    StageOutcome.RUNNING: "running",
    StageOutcome.SUCCEEDED: "succeeded",
    StageOutcome.INVALID: "invalid",
    StageOutcome.FAILED: "failed",
    StageOutcome.CANCELLED: "cancelled",
}


# Stages that wait for someone rather than work: "running" would suggest the app is busy.
_WAITING_WORDS = {
    TaskState.QUEUED: "waiting to start",
    TaskState.NEEDS_REVIEW: "waiting for a decision",
    TaskState.READY: "waiting for S3 and Druid",
}


def duration_text(seconds: float) -> str:
    # Local stages often take under a second; "<1s" for each would hide which one was slow.
    if seconds < 0.05:
        return "<0.1s"
    return f"{seconds:.1f}s" if seconds < 10 else human_duration(seconds)


def started_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class TimelineModel(ReadOnlyTableModel):
    """One row per stage; `tick()` repaints only the running stage's duration."""

    def __init__(
        self, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self._timeline: Timeline | None = None
        self._clock = clock
        self._read_at = clock()

    @property
    def timeline(self) -> Timeline | None:
        return self._timeline

    def set_timeline(self, timeline: Timeline | None) -> None:
        self.beginResetModel()
        self._timeline = timeline
        self._read_at = self._clock()
        self.endResetModel()

    def tick(self) -> bool:
        """Move the running stage's elapsed time on; False when no stage is running."""
        timeline = self._timeline
        if timeline is None or timeline.running is None:
            return False
        cell = self.index(len(timeline.stages) - 1, TimelineColumn.DURATION)
        self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DisplayRole])
        return True

    def stage(self, row: int) -> TimelineStage:
        assert self._timeline is not None
        return self._timeline.stages[row]

    def elapsed(self, stage: TimelineStage) -> timedelta:
        assert self._timeline is not None
        since = timedelta(seconds=max(0.0, self._clock() - self._read_at))
        return self._timeline.elapsed(stage, since)

    # -- Qt model API --------------------------------------------------------------------------

    def row_total(self) -> int:
        return 0 if self._timeline is None else len(self._timeline.stages)

    def column_total(self) -> int:
        return len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation is Qt.Orientation.Horizontal
            and 0 <= section < len(_HEADERS)
        ):
            return _HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        stage = self.stage(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(stage, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(stage, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == TimelineColumn.OUTCOME:
            tone = _OUTCOME_TONES[stage.outcome]
            return QColor(TONE_COLORS[tone]) if tone is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == TimelineColumn.DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, stage: TimelineStage, column: int) -> str:
        if column == TimelineColumn.STAGE:
            label = STATE_LABELS[stage.state]
            return f"{label} (attempt {stage.attempt})" if stage.attempt > 1 else label
        if column == TimelineColumn.STARTED:
            return started_text(stage.started)
        if column == TimelineColumn.DURATION:
            return duration_text(self.elapsed(stage).total_seconds())
        words = _OUTCOME_WORDS[stage.outcome]
        if stage.outcome is StageOutcome.RUNNING:
            words = _WAITING_WORDS.get(stage.state, words)
        # A transition's message explains an ending (a failure's reason); "done" needs none.
        detail = stage.message if stage.outcome is not StageOutcome.DONE else None
        text = f"{words}: {detail}" if detail else words
        return "; ".join((text, *stage.notes))

    def _tooltip(self, stage: TimelineStage, column: int) -> str:
        lines = [self._display(stage, column)]
        if column == TimelineColumn.STARTED:
            lines = [f"{started_text(stage.started)} (local time)"]
            if stage.by_client:
                lines.append(f"by client {stage.by_client}")
        elif column == TimelineColumn.OUTCOME:
            if stage.message and stage.outcome is StageOutcome.DONE:
                lines.append(stage.message)
        elif column == TimelineColumn.DURATION and stage.outcome is StageOutcome.RUNNING:
            lines = [f"{lines[0]} so far"]
        return "\n".join(lines)
