"""A one-line progress meter on stderr for long reads: rows, rows per second and MB per second."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from app.pipeline.read_estimate import ReadEstimate

_INTERVAL_S = 0.25


class ProgressLine:
    """Called with the rows read so far; redraws at most every quarter second.

    MB is the shared estimate from the file's average line length (the reader reports rows).
    """

    def __init__(
        self,
        stream: TextIO,
        estimate: ReadEstimate | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._estimate = estimate
        self._clock = clock
        self._started = clock()
        self._last_draw = self._started
        self._rows = 0
        self._drawn = False

    def __call__(self, rows: int) -> None:
        self._rows = rows
        now = self._clock()
        if now - self._last_draw >= _INTERVAL_S:
            self._last_draw = now
            self._draw(now)

    def text(self, now: float) -> str:
        seconds = max(now - self._started, 1e-9)
        line = f"{self._rows:,} rows  {self._rows / seconds:,.0f} rows/s"
        if self._estimate is not None:
            megabytes = self._estimate.bytes_at(self._rows) / 1e6
            line += f"  {megabytes:,.0f} MB  {megabytes / seconds:,.1f} MB/s"
        return f"{line}  {seconds:,.1f} s"

    def _draw(self, now: float) -> None:
        # \r and a clear-to-end: the line is redrawn in place on a terminal.
        self._stream.write(f"\r{self.text(now)}\x1b[K")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """The final figures on their own line, so the report that follows starts clean."""
        if self._rows or self._drawn:
            self._draw(self._clock())
            self._stream.write("\n")
            self._stream.flush()
