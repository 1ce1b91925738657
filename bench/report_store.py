"""What keeping the validation report with every task costs: 100,000 tasks on the embedded store.

Two stores of N tasks each, alike but for the report column: "bare" (no reports, the store as
it was) and "ours" (every task carries a stored report, 1 in 10 of them an invalid file's with
its issue sample). Measured in the same run: the report's size, the database file's size, a
full task listing (what a desk does at start and on resync), and reading one task's report
(what the details panel does on selection).

    .venv/bin/python bench/report_store.py [--tasks 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from app.domain.tasks import TaskState
from app.services.reading import open_source
from app.services.store import TaskStore, report_codec
from app.services.store.models import TASKS
from app.services.validation import ValidateOptions, validate_source

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
BATCH = 5_000


def sample_reports() -> tuple[dict[str, object], dict[str, object]]:
    """A valid and an invalid report, as the pipeline stores them, from the bundled samples."""
    found = []
    for name in ("sales_clean.csv", "orders_with_errors.csv"):
        source = open_source(SAMPLES / name)
        try:
            found.append(report_codec.encode(validate_source(source, ValidateOptions()).report))
        finally:
            source.close()
    return found[0], found[1]


def fill(store: TaskStore, count: int, reports: tuple[dict[str, object], ...] | None) -> None:
    now = store.tasks.now()
    with store.engine.begin() as conn:
        for start in range(0, count, BATCH):
            rows = []
            for index in range(start, min(count, start + BATCH)):
                invalid = index % 10 == 0
                rows.append({
                    "id": f"task-{index:07d}", "file_name": f"file_{index}.csv",
                    "file_size": 10_000, "sha256": f"{index:064x}", "source_client": "bench",
                    "datasource": f"ds_{index % 50}", "mode": "append",
                    "state": (TaskState.INVALID if invalid else TaskState.SUCCEEDED).value,
                    "version": 3, "progress": 1.0, "created_at": now, "updated_at": now,
                    "source_path": f"/home/user/data/file_{index}.csv",
                    "report": None if reports is None else reports[1 if invalid else 0],
                })
            conn.execute(insert(TASKS), rows)


def timed(action: object, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def measure(folder: Path, name: str, count: int, reports: tuple[dict[str, object], ...] | None
            ) -> dict[str, float]:
    path = folder / f"{name}.sqlite3"
    store = TaskStore.open(f"sqlite:///{path}")
    try:
        fill(store, count, reports)
        listing = timed(store.tasks.list_tasks, 3)
        one = timed(lambda: store.tasks.report("task-0004321"), 50)
    finally:
        store.close()
    return {"list_s": listing, "one_report_ms": one * 1000, "db_mb": path.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    count = parser.parse_args().tasks
    valid, invalid = sample_reports()
    sizes = [len(json.dumps(doc).encode()) for doc in (valid, invalid)]
    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        bare = measure(Path(folder), "bare", count, None)
        ours = measure(Path(folder), "ours", count, (valid, invalid))
    print(f"{count:,} tasks; stored report: {sizes[0]:,} B (valid sample), {sizes[1]:,} B "
          f"(invalid sample); bound {report_codec.MAX_BYTES:,} B")
    print(f"{'':<22}{'bare':>12}{'ours':>12}{'ours/bare':>12}")
    for key, label in (("list_s", "list all tasks (s)"), ("one_report_ms", "one report (ms)"),
                       ("db_mb", "database (MB)")):
        ratio = ours[key] / bare[key] if bare[key] else float("nan")
        print(f"{label:<22}{bare[key]:>12.3f}{ours[key]:>12.3f}{ratio:>12.2f}")
    print(
        f"RESULT tasks={count} report_valid_bytes={sizes[0]} report_invalid_bytes={sizes[1]} "
        f"list_bare_s={bare['list_s']:.3f} list_ours_s={ours['list_s']:.3f} "
        f"list_ratio={ours['list_s'] / bare['list_s']:.2f} "
        f"one_report_ms={ours['one_report_ms']:.3f} db_bare_mb={bare['db_mb']:.1f} "
        f"db_ours_mb={ours['db_mb']:.1f}"
    )


if __name__ == "__main__":
    main()
