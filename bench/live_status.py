"""How fast a task change reaches 20 listening clients: our feed vs raw pg_notify vs 2 s polling.

Starts its own throwaway PostgreSQL and 20 client processes; each listens three ways at once:

  feed     PgChangeFeed (trigger -> pg_notify -> LISTEN -> re-read row + events -> callback)
  raw      a bare LISTEN connection receiving NOTIFY sent by the producer (the floor)
  polling  SELECT id, version FROM tasks every 2 s (what clients would do without NOTIFY)

The producer alternates a task transition with a bare NOTIFY, so all three paths share the same
window (and the same machine noise). A transition's latency runs from its commit returning in
the producer to each client's callback (the polling path sees the same transitions); a bare
NOTIFY's from just before it is sent. All on CLOCK_MONOTONIC, which processes on one machine
share. The first --warmup changes are not counted.

    .venv/bin/python bench/live_status.py [--clients 20] [--changes 200] [--interval-ms 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from app.domain.store import ChangeSource, NewTask, TaskChange
from app.domain.tasks import IngestMode, TaskState
from app.services.store import TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.tempcluster import TempPostgres

RAW_CHANNEL = "bench_raw"
POLL_INTERVAL_S = 2.0
Key = tuple[str, int]


def client_main(url: str, barrier: Any, results: Any, index: int, settle_s: float) -> None:
    """One client listening three ways at once, so machine noise hits every path alike."""
    receipts: dict[str, list[tuple[Key, float]]] = {"feed": [], "raw": [], "polling": []}
    store = TaskStore.open(url, allow_upgrade=False, pool_size=1)
    feed = store.change_feed()

    def on_change(change: TaskChange) -> None:
        if change.source is ChangeSource.NOTIFY:
            receipts["feed"].append(((change.task.id, change.task.version), time.monotonic()))

    feed.subscribe(on_change)
    feed.start()
    feed.wait_until_live(60)

    raw = psycopg.connect(libpq_conninfo(url), autocommit=True)
    raw.execute(f"LISTEN {RAW_CHANNEL}")
    stop = threading.Event()

    def listen_raw() -> None:
        while not stop.is_set():
            for notify in raw.notifies(timeout=0.2):
                receipts["raw"].append(((notify.payload, 0), time.monotonic()))

    seen = store.tasks.versions()

    def poll() -> None:
        # Each client polls at its own phase, as independent desktops would.
        stop.wait(random.Random(index).uniform(0, POLL_INTERVAL_S))
        while not stop.is_set():
            current = store.tasks.versions()
            now = time.monotonic()
            for task_id, version in current.items():
                if version > seen.get(task_id, 0):
                    receipts["polling"].append(((task_id, version), now))
            seen.update(current)
            stop.wait(POLL_INTERVAL_S)

    threads = [threading.Thread(target=listen_raw), threading.Thread(target=poll)]
    for thread in threads:
        thread.start()
    barrier.wait()  # everyone is listening
    barrier.wait()  # the producer has finished
    time.sleep(POLL_INTERVAL_S + settle_s)
    stop.set()
    for thread in threads:
        thread.join()
    feed.stop()
    raw.close()
    store.close()
    results.put((index, receipts))


def produce(
    store: TaskStore, url: str, ids: list[str], interval_s: float
) -> tuple[dict[Key, float], dict[Key, float]]:
    """Alternate a task transition (timed when its commit returns) and a bare NOTIFY."""
    transitions: dict[Key, float] = {}
    notifies: dict[Key, float] = {}
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        for task_id in ids:
            task = store.tasks.get(task_id)
            new = store.tasks.transition(
                task_id, TaskState.VALIDATING, expected_state=TaskState.QUEUED,
                expected_version=task.version, by_client="bench",
            )
            transitions[(new.id, new.version)] = time.monotonic()
            time.sleep(interval_s / 2)
            # Timed before sending: the server delivers to listeners before it answers the
            # sender, so "after" would often read as a negative latency.
            notifies[(f"m{task_id}", 0)] = time.monotonic()
            conn.execute(f"NOTIFY {RAW_CHANNEL}, 'm{task_id}'")
            time.sleep(interval_s / 2)
    return transitions, notifies


def latencies(committed: dict[Key, float], receipts: list[list[tuple[Key, float]]]) -> list[float]:
    values = []
    for client in receipts:
        for key, at in client:
            if key in committed:
                values.append(max(0.0, (at - committed[key]) * 1000))
    return values


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured changes first")
    args = parser.parse_args()
    interval = args.interval_ms / 1000
    ctx = multiprocessing.get_context("spawn")

    with TempPostgres() as server:
        url = server.create_database("bench")
        store = TaskStore.open(url, pool_size=2)
        ids = [
            store.tasks.create(
                NewTask(f"f{n}.csv", n, f"{n:064d}", "bench", "sales", IngestMode.APPEND)
            ).id
            for n in range(args.changes + args.warmup)
        ]
        barrier = ctx.Barrier(args.clients + 1)
        results = ctx.Queue()
        clients = [
            ctx.Process(target=client_main, args=(url, barrier, results, i, 1.0))
            for i in range(args.clients)
        ]
        for process in clients:
            process.start()
        print(f"{args.clients} clients, {args.changes} transitions and {args.changes} bare NOTIFYs, "
              f"one of each every {args.interval_ms:.0f} ms", flush=True)
        barrier.wait(timeout=300)
        # Steady state is what users live in: first connections and statement caches warm up
        # on changes that are not counted.
        produce(store, url, ids[: args.warmup], interval)
        feed_commits, raw_commits = produce(store, url, ids[args.warmup :], interval)
        barrier.wait()
        gathered = [results.get(timeout=120)[1] for _ in clients]
        for process in clients:
            process.join(30)
        store.close()

    rows = []
    for name, committed in (
        ("feed", feed_commits), ("raw", raw_commits), ("polling", feed_commits)
    ):
        values = latencies(committed, [g[name] for g in gathered])
        expected = len(committed) * args.clients
        rows.append((name, values, expected))
    labels = {
        "feed": "our change feed (NOTIFY + re-read)",
        "raw": "raw pg_notify round trip",
        "polling": f"polling every {POLL_INTERVAL_S:.0f} s",
    }
    print(f"\n{'path':38} {'delivered':>11} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} "
          f"{'mean ms':>9}")
    for name, values, expected in rows:
        print(f"{labels[name]:38} {len(values):>5}/{expected:<5} {pct(values, 50):9.2f} "
              f"{pct(values, 99):9.2f} {max(values, default=float('nan')):9.2f} "
              f"{statistics.fmean(values) if values else float('nan'):9.2f}")
    feed, raw, polling = (r[1] for r in rows)
    print(
        f"RESULT p50_ms={pct(feed, 50):.2f} p99_ms={pct(feed, 99):.2f} "
        f"max_ms={max(feed):.2f} raw_notify_p99_ms={pct(raw, 99):.2f} "
        f"polling_p99_ms={pct(polling, 99):.2f} clients={args.clients}"
    )


if __name__ == "__main__":
    main()
