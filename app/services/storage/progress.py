"""Speed and ETA over a moving window of byte counts: plain arithmetic, no Qt, no clock."""

from __future__ import annotations

from collections import deque

from app.domain.transfer import UploadProgress


class TransferRate:
    """Speed from the bytes moved in the last `window_s` seconds.

    A moving window rather than bytes/elapsed so the ETA follows a connection that speeds up or
    stalls, and rather than the last two samples so it does not jump with every part boundary.
    """

    def __init__(self, total_bytes: int, *, window_s: float = 5.0, min_span_s: float = 0.2) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.total_bytes = total_bytes
        self.window_s = window_s
        # Below this span a rate is mostly noise (one buffer landing), so none is reported.
        self.min_span_s = min_span_s
        self._samples: deque[tuple[float, int]] = deque()
        self._done = 0

    @property
    def bytes_done(self) -> int:
        return self._done

    def update(self, bytes_done: int, now: float) -> None:
        """Record the cumulative byte count at time `now` (monotonic seconds)."""
        if self._samples and now < self._samples[-1][0]:
            raise ValueError("time went backwards")
        self._done = bytes_done
        self._samples.append((now, bytes_done))
        # Keep one sample older than the window so the span covers the whole window.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()

    @property
    def bytes_per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        span = t1 - t0
        if span < self.min_span_s:
            return None
        # A retry rewinds the count; a negative speed would mean nothing to the user.
        return max(0.0, (b1 - b0) / span)

    @property
    def eta_seconds(self) -> float | None:
        remaining = max(0, self.total_bytes - self._done)
        if remaining == 0:
            return 0.0
        speed = self.bytes_per_second
        if not speed:
            return None
        return remaining / speed

    def snapshot(self, parts_done: int, parts_total: int) -> UploadProgress:
        return UploadProgress(
            bytes_sent=self._done,
            total_bytes=self.total_bytes,
            parts_done=parts_done,
            parts_total=parts_total,
            bytes_per_second=self.bytes_per_second,
            eta_seconds=self.eta_seconds,
        )
