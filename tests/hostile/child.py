"""Run `ingest-desk` in a child process and measure that child's own peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

GIB = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ChildRun:
    code: int
    stdout: str
    stderr: str
    peak_rss_bytes: int


def run_cli(
    args: list[str], work: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> ChildRun:
    """wait4 gives this child's rusage alone (RUSAGE_CHILDREN keeps the maximum of all)."""
    out_path, err_path = work / "child.out", work / "child.err"
    environment = {**os.environ, **(env or {})}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args], stdout=out, stderr=err, env=environment
        )
    # A hang (a FIFO read) must fail the test, not stall it.
    timer = threading.Timer(timeout, child.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
    return ChildRun(
        child.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
        usage.ru_maxrss * 1024,  # kilobytes on Linux
    )
