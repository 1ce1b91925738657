"""Speed and time-left arithmetic for the progress column, kept out of Qt so it is easy to test."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from app.domain.tasks import Task, TaskState
from app.domain.transfer import UploadProgress

# Long enough to smooth S3's part-sized steps, short enough to follow a change of network.
_WINDOW_S = 15.0
_MOVING = frozenset({TaskState.UPLOADING, TaskState.INGESTING})


@dataclass(frozen=True, slots=True)
class TransferView:
    """What the progress cell adds to a moving upload: speed (this desk only) and time left."""

    bytes_per_second: float | None
    eta_seconds: float | None
    rows_per_second: float | None = None  # Druid's pace while it ingests


class FractionRate:
    """Time left from the progress fractions the feed delivers for another desk's upload.

    That desk writes its fraction to the store about twice a second; the rate over the last few
    seconds gives the time left. No bytes are known here, so no speed is claimed.
    """

    def __init__(self, window_s: float = _WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, at: float, fraction: float) -> None:
        samples = self._samples
        if samples and fraction < samples[-1][1]:
            samples.clear()  # restarted (a retry): the old pace says nothing
        samples.append((at, fraction))
        while len(samples) > 2 and at - samples[0][0] > self._window_s:
            samples.popleft()

    def per_second(self) -> float | None:
        """The fraction gained per second over the window (None until it moved for a second)."""
        if len(self._samples) < 2:
            return None
        (t0, f0), (t1, f1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 1.0 or f1 <= f0:
            return None
        return (f1 - f0) / (t1 - t0)

    def eta_seconds(self) -> float | None:
        rate = self.per_second()
        if rate is None:
            return None
        return max(0.0, (1.0 - self._samples[-1][1]) / rate)


def view_of_upload(tick: UploadProgress) -> TransferView:
    return TransferView(tick.bytes_per_second, tick.eta_seconds)


class TransferTracker:
    """Per uploading task: this desk's own ticks (speed and ETA) or the feed's fractions (ETA)."""

    def __init__(self) -> None:
        self._local: dict[str, UploadProgress] = {}
        self._remote: dict[str, FractionRate] = {}

    def local_tick(self, task_id: str, tick: UploadProgress) -> None:
        self._local[task_id] = tick

    def observe(self, task: Task, at: float) -> None:
        """A task as the feed delivered it; one no longer uploading or ingesting is forgotten."""
        if task.state not in _MOVING:
            self._local.pop(task.id, None)
            self._remote.pop(task.id, None)
            return
        self._remote.setdefault(task.id, FractionRate()).add(at, task.progress)

    def view(self, task: Task) -> TransferView | None:
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

    def forget(self, task_id: str) -> None:
        self._local.pop(task_id, None)
        self._remote.pop(task_id, None)
