"""How a task reads on screen: stage labels, tones, sizes, durations. Plain Python, no widgets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.tasks import Task, TaskState
from app.ui.transfer_rate import TransferView

STATE_LABELS: dict[TaskState, str] = {
    TaskState.QUEUED: "Queued",
    TaskState.VALIDATING: "Validating",
    TaskState.READY: "Ready",  # to upload, once S3 and Druid are set (see stage_view)
    TaskState.NEEDS_REVIEW: "Needs review",
    TaskState.INVALID: "Invalid",
    TaskState.UPLOADING: "Uploading",
    TaskState.SUBMITTING: "Submitting",
    TaskState.INGESTING: "Ingesting",
    TaskState.VERIFYING: "Verifying",
    TaskState.SUCCEEDED: "Succeeded",
    TaskState.FAILED: "Failed",
    TaskState.CANCELLED: "Cancelled",
}

# Sorting by state follows the task's life, not the alphabet.
STATE_ORDER: dict[TaskState, int] = {state: index for index, state in enumerate(TaskState)}


class Tone(enum.Enum):
    NEUTRAL = "neutral"
    ACTIVE = "active"
    ATTENTION = "attention"
    ERROR = "error"
    SUCCESS = "success"


_TONES: dict[TaskState, Tone] = {
    TaskState.QUEUED: Tone.NEUTRAL,
    TaskState.VALIDATING: Tone.ACTIVE,
    TaskState.READY: Tone.NEUTRAL,
    TaskState.NEEDS_REVIEW: Tone.ATTENTION,
    TaskState.INVALID: Tone.ERROR,
    TaskState.UPLOADING: Tone.ACTIVE,
    TaskState.SUBMITTING: Tone.ACTIVE,
    TaskState.INGESTING: Tone.ACTIVE,
    TaskState.VERIFYING: Tone.ACTIVE,
    TaskState.SUCCEEDED: Tone.SUCCESS,
    TaskState.FAILED: Tone.ERROR,
    TaskState.CANCELLED: Tone.NEUTRAL,
}

# Fixed hues read the same in light and dark palettes; text colours come from the palette.
TONE_COLORS: dict[Tone, str] = {
    Tone.NEUTRAL: "#8a8f98",
    Tone.ACTIVE: "#2f7ed8",
    Tone.ATTENTION: "#d48806",
    Tone.ERROR: "#d64545",
    Tone.SUCCESS: "#2e9d57",
}


@dataclass(frozen=True, slots=True)
class StageView:
    """What the progress cell paints: a label, a detail, and a bar (None: amount unknown)."""

    label: str
    detail: str
    fraction: float | None
    tone: Tone

    @property
    def text(self) -> str:
        return f"{self.label} · {self.detail}" if self.detail else self.label


def tone_of(state: TaskState) -> Tone:
    return _TONES[state]


_DRUID_STAGES = {
    TaskState.SUBMITTING: "sending the spec to Druid",
    TaskState.INGESTING: "Druid is building segments",
    TaskState.VERIFYING: "counting the rows in Druid",
}


def stage_view(task: Task, transfer: TransferView | None = None) -> StageView:
    state = task.state
    label = STATE_LABELS[state]
    tone = tone_of(state)
    rows = task.rows_validated
    if state is TaskState.QUEUED:
        return StageView(label, "waiting for a worker", 0.0, tone)
    if state is TaskState.VALIDATING:
        return _reading_view(task, transfer)
    if state is TaskState.READY:
        detail = f"{rows:,} rows · " if rows is not None else ""
        return StageView(label, detail + "waiting for S3 and Druid", 1.0, tone)
    if state is TaskState.NEEDS_REVIEW:
        return StageView(label, review_question(task), 1.0, tone)
    if state is TaskState.INVALID:
        return StageView(label, "see details", 1.0, tone)
    if state is TaskState.SUCCEEDED:
        ingested = task.rows_ingested
        return StageView(label, f"{ingested:,} rows in Druid" if ingested else "", 1.0, tone)
    if state in (TaskState.FAILED, TaskState.CANCELLED):
        return StageView(label, "", 1.0, tone)
    if state is TaskState.INGESTING and task.progress > 0 and rows:
        # Druid's live report: rows processed so far, against the rows validated.
        done = round(task.progress * rows)
        detail = f"{task.progress:.0%} · {done:,} of {rows:,} rows in Druid"
        if transfer is not None and transfer.rows_per_second:
            detail += f" · {transfer.rows_per_second:,.0f} rows/s"
        if transfer is not None and transfer.eta_seconds is not None:
            detail += f" · {human_eta(transfer.eta_seconds)}"
        return StageView(label, detail, task.progress, tone)
    if state in _DRUID_STAGES:
        # Before Druid's first live report: a busy bar and what it is doing.
        return StageView(label, _DRUID_STAGES[state], None, tone)
    fraction = max(0.0, min(1.0, task.progress))
    detail = f"{fraction:.0%}"
    if state is TaskState.UPLOADING and transfer is not None:
        if transfer.bytes_per_second:
            detail += f" · {human_speed(transfer.bytes_per_second)}"
        if transfer.eta_seconds is not None:
            detail += f" · {human_eta(transfer.eta_seconds)}"
    return StageView(label, detail, fraction, tone)


def _reading_view(task: Task, transfer: TransferView | None) -> StageView:
    """The estimated share read and the pace, or (no estimate) the rows read and their pace.

    The reader streams, so the total is only estimated (from the file's size and its average
    line length); with no estimate (a workbook) the bar stays busy and rows are the amount. With
    one, the rows read are left to the Rows column beside: the cell has room for the pace.
    """
    label, tone, rows = STATE_LABELS[task.state], tone_of(task.state), task.rows_validated
    if not rows:
        return StageView(label, "reading", None, tone)
    fraction = task.progress if 0.0 < task.progress < 1.0 else None
    parts = [f"{fraction:.0%}" if fraction is not None else f"{rows:,} rows read"]
    if transfer is not None and transfer.rows_per_second:
        parts.append(f"{human_count(transfer.rows_per_second)} rows/s")
    if transfer is not None and transfer.bytes_per_second:
        parts.append(human_speed(transfer.bytes_per_second))
    if fraction is not None and transfer is not None and transfer.eta_seconds is not None:
        parts.append(human_eta(transfer.eta_seconds))
    return StageView(label, " · ".join(parts), fraction, tone)


def human_count(value: float) -> str:
    """A pace in a few steady digits: 8,500; 834k; 1.3M (every digit of it flickers)."""
    if value < 10_000:
        return f"{value:,.0f}"
    if value < 999_500:
        return f"{value / 1000:.0f}k"
    return f"{value / 1_000_000:.1f}M"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # unreachable; keeps type checkers content


def human_speed(bytes_per_second: float) -> str:
    return f"{human_size(round(bytes_per_second))}/s"


def human_eta(seconds: float) -> str:
    # Never "<1s left": a transfer still under way has at least a second to go as far as anyone
    # reading the cell is concerned.
    return f"{human_duration(max(1, round(seconds)))} left"


def review_question(task: Task) -> str:
    """What a person is asked about a task held in needs_review, in a few words."""
    summary = task.validation_summary or ""
    if summary.startswith("Needs a decision: "):
        return summary.removeprefix("Needs a decision: ").rstrip(".")
    if "already ingested" in summary or "being ingested" in summary:
        return "ingest this file again?"
    if summary.startswith("Column types changed"):
        return "column types changed: append anyway?"
    return "decision needed"


def duration_seconds(task: Task, now: datetime | None = None) -> float:
    """Time the desk spent on the task: it stops when the task ends or starts waiting for a
    person (the last change of a waiting task is when it began to wait)."""
    stopped = task.updated_at if task.state.is_waiting else None
    end = task.finished_at or stopped or now or datetime.now(UTC)
    start = task.created_at
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return max(0.0, (end - start).total_seconds())


def human_duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s" if whole else "<1s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def local_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone().strftime("%Y-%m-%d %H:%M")
