"""The stage command's progress meter: throttled redraws, rates from rows and the file's lines.

The line-length estimate itself (shared with the window) is tested in
tests/pipeline/test_read_estimate.py.
"""

from __future__ import annotations

import io

from app.commands.progress_line import ProgressLine
from app.pipeline.read_estimate import ReadEstimate


def test_rates_come_from_rows_and_the_average_line_length() -> None:
    now = [100.0]
    stream = io.StringIO()
    meter = ProgressLine(stream, ReadEstimate(100.0, None), clock=lambda: now[0])
    meter(1_000)  # no time has passed: nothing drawn yet
    assert stream.getvalue() == ""
    now[0] = 102.0
    meter(2_000_000)
    drawn = "\r2,000,000 rows  1,000,000 rows/s  200 MB  100.0 MB/s  2.0 s\x1b[K"
    assert stream.getvalue() == drawn
    now[0] = 102.1  # within a quarter second: no redraw
    meter(2_100_000)
    assert stream.getvalue().count("\r") == 1
    meter.finish()
    assert stream.getvalue().endswith("\r2,100,000 rows  1,000,000 rows/s  210 MB  100.0 MB/s  "
                                      "2.1 s\x1b[K\n")


def test_without_a_line_length_only_rows_are_shown() -> None:
    now = [5.0]
    stream = io.StringIO()
    meter = ProgressLine(stream, None, clock=lambda: now[0])
    now[0] = 7.0
    meter(10)
    meter.finish()
    assert stream.getvalue() == "\r10 rows  5 rows/s  2.0 s\x1b[K" * 2 + "\n"
