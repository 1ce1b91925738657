"""How soon a new Druid poller leads after the leader's process is SIGKILLed: ours vs a bare lock.

Starts its own throwaway PostgreSQL and, for each contender, three candidate processes:

  ours   LeaderElection (the app's, retry interval --retry-s) on its own lock connection
  bare   a loop of SELECT pg_try_advisory_lock every --retry-s on one connection (the floor:
         how soon PostgreSQL frees a killed backend's lock, polled at the same pace)

Each round kills the current leader and times, on CLOCK_MONOTONIC (shared by processes on one
machine), from just before the kill to the successor's report. The tests only check the order
(refused while held, granted once the holder is gone); the figures belong here.

    .venv/bin/python bench/leader_takeover.py [--rounds 6] [--retry-s 1.0]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from app.services.store import TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.leader import lock_key
from app.services.store.tempcluster import TempPostgres

ROLE = "bench-poller"
CANDIDATES = 3


def ours(url: str, retry_s: float, results: Any) -> None:
    store = TaskStore.open(url, allow_upgrade=False, pool_size=1)
    election = store.leader_election(
        ROLE,
        on_elected=lambda: results.put((os.getpid(), time.monotonic())),
        retry_interval_s=retry_s,
    )
    election.start()
    while True:
        time.sleep(3600)  # held until killed


def bare(url: str, retry_s: float, results: Any) -> None:
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(ROLE),)).fetchone()
            if row and row[0]:
                results.put((os.getpid(), time.monotonic()))
                while True:
                    time.sleep(3600)
            time.sleep(retry_s)


def measure(target: Any, url: str, rounds: int, retry_s: float) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    alive: dict[int, Any] = {}
    takeovers: list[float] = []

    def spawn() -> None:
        process = ctx.Process(target=target, args=(url, retry_s, results), daemon=True)
        process.start()
        alive[process.pid] = process

    try:
        for _ in range(CANDIDATES):
            spawn()
        leader, _ = results.get(timeout=60)
        time.sleep(2 * retry_s)  # every candidate has tried and been refused at least once
        for _ in range(rounds):
            killed_at = time.monotonic()
            os.kill(leader, signal.SIGKILL)
            alive.pop(leader).join(10)
            leader, elected_at = results.get(timeout=60)
            takeovers.append(elected_at - killed_at)
            spawn()  # keep three candidates campaigning
            time.sleep(2 * retry_s)
    finally:
        for process in alive.values():
            process.kill()
            process.join(10)
    return takeovers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--retry-s", type=float, default=1.0)
    args = parser.parse_args()

    server = TempPostgres()
    server.start()
    try:
        figures: dict[str, list[float]] = {}
        for name, target in (("ours", ours), ("bare", bare)):
            url = server.create_database(f"takeover_{name}")
            TaskStore.open(url).close()
            figures[name] = measure(target, url, args.rounds, args.retry_s)
    finally:
        server.cleanup()

    print(f"\nleader takeover after SIGKILL, {CANDIDATES} candidates, retry {args.retry_s:g} s")
    print(f"{'contender':<34}{'median s':>10}{'max s':>10}")
    labels = {"ours": "ours: LeaderElection", "bare": "bare pg_try_advisory_lock loop"}
    for name, values in figures.items():
        print(f"{labels[name]:<34}{statistics.median(values):>10.2f}{max(values):>10.2f}")
    ours_median = statistics.median(figures["ours"])
    bare_median = statistics.median(figures["bare"])
    ratio = ours_median / bare_median if bare_median else float("inf")
    print(
        f"RESULT ours_takeover_s={ours_median:.3f} bare_takeover_s={bare_median:.3f} "
        f"ours_max_s={max(figures['ours']):.3f} ratio={ratio:.2f} retry_s={args.retry_s:g}"
    )


if __name__ == "__main__":
    main()
