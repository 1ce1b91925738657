"""Speed and time-left arithmetic for the progress column, kept out of Qt so it is easy to test."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from app.domain.tasks import Task, TaskState
from app.domain.transfer import UploadProgress

# Long enough to smooth S3's part-sized steps, short enough to follow a change of network.
_WINDOW_S = 15.0
_MOVING = frozenset({TaskState.VALIDATING, TaskState.UPLOADING, TaskState.INGESTING})


@dataclass(frozen=True, slots=True)
class TransferView:
    """What the progress cell adds to a moving task: speed, rows per second, time left."""

    bytes_per_second: float | None
    eta_seconds: float | None
    rows_per_second: float | None = None  # the read's pace, or Druid's while it ingests


class Pace:
    """A growing figure's gain per second over the last few seconds of samples.

    The samples are the progress the task already reports (taken when the model applies it,
    at most every flush), so nothing repaints per batch.
    """

    def __init__(self, window_s: float = _WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, at: float, value: float) -> None:
        samples = self._samples
        if samples and value < samples[-1][1]:
            samples.clear()  # restarted (a retry): the old pace says nothing
        samples.append((at, value))
        while len(samples) > 2 and at - samples[0][0] > self._window_s:
            samples.popleft()

    def per_second(self) -> float | None:
        """The gain per second over the window (None until it moved for a second)."""
        if len(self._samples) < 2:
            return None
        (t0, f0), (t1, f1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 1.0 or f1 <= f0:
            return None
        return (f1 - f0) / (t1 - t0)


class FractionRate(Pace):
    """Time left from the progress fractions the feed delivers for another desk's task.

    That desk writes its fraction to the store about twice a second; the rate over the last few
    seconds gives the time left.
    """

    def eta_seconds(self) -> float | None:
        rate = self.per_second()
        if rate is None:
            return None
        return max(0.0, (1.0 - self._samples[-1][1]) / rate)


def view_of_upload(tick: UploadProgress) -> TransferView:
    return TransferView(tick.bytes_per_second, tick.eta_seconds)


class TransferTracker:
    """Per moving task: this desk's upload ticks (speed and ETA), else the fractions and rows
    the model applies (this desk's read between store writes, or the feed's rows)."""

    def __init__(self) -> None:
        self._local: dict[str, UploadProgress] = {}
        self._remote: dict[str, FractionRate] = {}
        self._rows: dict[str, Pace] = {}  # rows read, while validating

    def local_tick(self, task_id: str, tick: UploadProgress) -> None:
        self._local[task_id] = tick

    def observe(self, task: Task, at: float) -> None:
        """A task as the feed delivered it; one no longer uploading or ingesting is forgotten."""
        if task.state not in _MOVING:
            self.forget(task.id)
            return
        if task.state is TaskState.VALIDATING:
            # From the first rows on: the time the file took to open is not reading time.
            if task.rows_validated:
                self._rows.setdefault(task.id, Pace()).add(at, task.rows_validated)
                self._remote.setdefault(task.id, FractionRate()).add(at, task.progress)
            return
        if self._rows.pop(task.id, None) is not None:
            self._remote.pop(task.id, None)  # the read's fractions say nothing of the upload
        self._remote.setdefault(task.id, FractionRate()).add(at, task.progress)

    def view(self, task: Task) -> TransferView | None:
        if task.state is TaskState.VALIDATING:
            return self._read_view(task)
        if task.state is TaskState.INGESTING:
            return self._ingest_view(task)
        if task.state is not TaskState.UPLOADING:
            return None
        tick = self._local.get(task.id)
        if tick is not None:
            return view_of_upload(tick)
        rate = self._remote.get(task.id)
        eta = rate.eta_seconds() if rate is not None else None
        return None if eta is None else TransferView(None, eta)

    def _ingest_view(self, task: Task) -> TransferView | None:
        """Druid's rows per second and time left, from the live progress its reports give."""
        rate = self._remote.get(task.id)
        pace = rate.per_second() if rate is not None else None
        if pace is None or rate is None or not task.rows_validated:
            return None
        return TransferView(None, rate.eta_seconds(), pace * task.rows_validated)

    def _read_view(self, task: Task) -> TransferView | None:
        """Rows and MB per second while the file is read, and the time left when it is known.

        MB come from the fraction the validate step estimates (pipeline.read_estimate, as the
        CLI's meter) times the file's size: the same figures on this desk and on every other.
        For a plain text file that is the CLI's MB; for a gzipped one, the file as stored.
        """
        rows = self._rows.get(task.id)
        rows_pace = rows.per_second() if rows is not None else None
        fraction = self._remote.get(task.id)
        fraction_pace = fraction.per_second() if fraction is not None else None
        if rows_pace is None and fraction_pace is None:
            return None
        speed = fraction_pace * task.file_size if fraction_pace is not None else None
        eta = fraction.eta_seconds() if fraction is not None else None
        return TransferView(speed, eta, rows_pace)

    def forget(self, task_id: str) -> None:
        self._local.pop(task_id, None)
        self._remote.pop(task_id, None)
        self._rows.pop(task_id, None)
