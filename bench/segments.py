"""Druid time chunks fitted to the data vs one segment per day: the four-year file against the
dev stack's real Druid, both ways in the same run.

A Sample-Superstore-like file (9,994 orders from 2014-01-03 to 2017-12-30) is ingested twice
into two new datasources with `ingest-desk ingest --wait`: once with `--segment-granularity
day` (what every task used before) and once with the granularity fitted to the data (MONTH).
Printed: Druid's own task duration, the whole command's wall time, and the published segments
with their average rows. Needs the dev stack: `eval "$(scripts/devstack up)"` first.

    .venv/bin/python bench/segments.py [--rows 9994]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from app.services.druid import DruidClient
from app.services.settings import load_settings
from app.services.store import open_store

REPO = Path(__file__).resolve().parent.parent


def four_years(path: Path, rows: int) -> Path:
    first, last = datetime(2014, 1, 3), datetime(2017, 12, 30)
    step = (last - first) / rows
    lines = ["when,region,qty"] + [
        f"{first + step * i:%Y-%m-%d %H:%M:%S},region{i % 4},{i % 17}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest(path: Path, datasource: str, *flags: str) -> float:
    env = {**os.environ, "INGEST_DESK_AWAIT_SEGMENTS_MS": "0"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(path), "--datasource", datasource,
         "--wait", *flags],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def drop(druid_url: str, datasource: str) -> None:
    """Mark the datasource's segments unused: a day-granular run leaves ~1,400 segments, and
    left in place they fill the dev stack's historical (later tasks then wait for capacity)."""
    httpx.delete(f"{druid_url}/druid/coordinator/v1/datasources/{datasource}", timeout=30)


def measure(
    druid: DruidClient, path: Path, label: str, made: list[str], *flags: str
) -> dict[str, float]:
    name = f"bench_seg_{label}_{uuid.uuid4().hex[:6]}"
    made.append(name)
    wall = ingest(path, name, *flags)
    settings = load_settings()
    with open_store(settings) as store:
        task = next(t for t in store.tasks.list_tasks(datasource=name))
    status = druid.task_status(task.druid_task_id or "")
    counted = druid.sql(
        "SELECT COUNT(*) AS n FROM sys.segments WHERE datasource = ? "
        "AND is_published = 1 AND is_overshadowed = 0", [name],
    )
    segments = int(counted.first("n") or 0)
    # sys.segments' num_rows stays 0 until a historical loads a segment: the task's own count.
    rows = task.rows_ingested or 0
    return {
        "druid_s": (status.duration_ms or 0) / 1000, "wall_s": wall, "segments": segments,
        "rows_per_segment": rows / segments if segments else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=9_994)
    rows = parser.parse_args().rows
    settings = load_settings()
    if not settings.druid_url:
        raise SystemExit("no Druid: run `eval \"$(scripts/devstack up)\"` first")
    with tempfile.TemporaryDirectory(prefix="segments-bench-") as folder, \
            DruidClient.from_settings(settings) as druid:
        path = four_years(Path(folder) / "superstore.csv", rows)
        made: list[str] = []
        try:
            day = measure(druid, path, "day", made, "--segment-granularity", "day")
            fitted = measure(druid, path, "fit", made)
        finally:
            for name in made:
                drop(settings.druid_url, name)
    print(f"{rows:,} rows over four years")
    print(f"{'':<22}{'DAY (before)':>14}{'fitted':>12}{'fitted/DAY':>12}")
    for key, label in (("druid_s", "Druid task (s)"), ("wall_s", "ingest --wait (s)"),
                       ("segments", "segments"), ("rows_per_segment", "rows per segment")):
        ratio = fitted[key] / day[key] if day[key] else float("nan")
        print(f"{label:<22}{day[key]:>14.1f}{fitted[key]:>12.1f}{ratio:>12.2f}")
    print(
        f"RESULT rows={rows} day_druid_s={day['druid_s']:.1f} fitted_druid_s="
        f"{fitted['druid_s']:.1f} druid_ratio={fitted['druid_s'] / day['druid_s']:.2f} "
        f"day_segments={day['segments']:.0f} fitted_segments={fitted['segments']:.0f} "
        f"day_wall_s={day['wall_s']:.1f} fitted_wall_s={fitted['wall_s']:.1f}"
    )


if __name__ == "__main__":
    main()
