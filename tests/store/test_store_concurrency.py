"""20 clients x 50 tasks in threads and processes: no lost update, illegal move or missed change."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from app.domain.tasks import LEGAL_TRANSITIONS, RETRYABLE_STATES, TaskState
from app.services.store import TaskStore
from app.services.store.tempcluster import TempPostgres
from tests.store.conftest import create_database
from tests.store.store_helpers import Recorder, db_events, db_versions, wait_until_converged
from tests.store.store_workers import (
    ClientLog,
    client_process,
    drive_client,
    listener_summary,
    task_id,
)

CLIENTS = 20
TASKS_PER_CLIENT = 50
OPS_PER_CLIENT = 80
PROCESS_GROUPS = [[12, 13, 14, 15], [16, 17, 18, 19]]  # clients 0-11 are threads here
LISTENERS_HERE = 12
LISTENERS_PER_PROCESS = 4


@pytest.fixture
def shared_url(pg_server: TempPostgres) -> Iterator[str]:
    url = create_database(pg_server, "conc")
    TaskStore.open(url).close()
    yield url


@pytest.mark.slow
@pytest.mark.postgres
def test_many_clients_random_transitions(shared_url: str) -> None:
    url = shared_url
    all_ids = [task_id(c, n) for c in range(CLIENTS) for n in range(TASKS_PER_CLIENT)]
    store = TaskStore.open(url, allow_upgrade=False)
    feeds, recorders = [], []
    for _ in range(LISTENERS_HERE):
        feed = store.change_feed()
        recorder = Recorder()
        feed.subscribe(recorder)
        feed.start()
        feeds.append(feed)
        recorders.append(recorder)
    assert all(feed.wait_until_live(30) for feed in feeds)

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    all_done = ctx.Event()
    processes = [
        ctx.Process(
            target=client_process,
            args=(url, group, TASKS_PER_CLIENT, all_ids, OPS_PER_CLIENT,
                  LISTENERS_PER_PROCESS, results, all_done),
        )
        for group in PROCESS_GROUPS
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    logs: dict[int, ClientLog] = {}

    def run(client: int) -> None:
        logs[client] = drive_client(url, client, TASKS_PER_CLIENT, all_ids, OPS_PER_CLIENT, client)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in processes:
        kind, *_rest = results.get(timeout=300)
        assert kind == "ops_done"
    all_done.set()
    child_logs: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for _ in processes:
        kind, logs_payload, listener_payload = results.get(timeout=300)
        assert kind == "result"
        child_logs.extend(logs_payload)
        summaries.extend(listener_payload)
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    elapsed = time.monotonic() - started

    truth_versions = db_versions(store)
    truth_events = db_events(store)
    for feed, recorder in zip(feeds, recorders, strict=True):
        summaries.append(listener_summary(recorder, wait_until_converged(feed, truth_versions)))
        feed.stop()
    all_logs = [vars(log) for log in logs.values()] + child_logs
    assert len(all_logs) == CLIENTS
    assert len(truth_versions) == CLIENTS * TASKS_PER_CLIENT

    applied = assert_no_lost_or_illegal_update(store, all_logs, truth_events)

    # The run really raced: some moves were illegal and some lost.
    illegal = sum(log["illegal"] for log in all_logs)
    lost = sum(log["lost"] for log in all_logs)
    assert illegal > 50 and lost > 20 and len(applied) > 500

    # Every change delivered to every listener, once, never backwards.
    assert len(summaries) == LISTENERS_HERE + LISTENERS_PER_PROCESS * len(PROCESS_GROUPS)
    for summary in summaries:
        assert summary["converged"]
        assert summary["events"] == truth_events
        assert summary["latest"] == truth_versions
        assert summary["duplicates"] == 0 and summary["backwards"] == 0
    store.close()
    print(
        f"\nconcurrency: {len(applied)} applied, {illegal} illegal refused, {lost} lost races, "
        f"{len(truth_events)} events, {len(summaries)} listeners, {elapsed:.1f}s"
    )


def assert_no_lost_or_illegal_update(
    store: TaskStore,
    all_logs: list[dict[str, Any]],
    truth_events: dict[tuple[str, int], tuple[str | None, str]],
) -> list[tuple[Any, ...]]:
    """Check the clients' reported successes against the history and the rows."""
    # Zero lost updates: every success a client was told about is in the history exactly once,
    # and the history holds nothing nobody was told about.
    applied = [tuple(a) for log in all_logs for a in log["applied"]]
    applied_keys = [(tid, v) for tid, v, _, _ in applied]
    assert len(applied_keys) == len(set(applied_keys)), "two clients both won the same version"
    moves = {k: v for k, v in truth_events.items() if k[1] > 1}
    assert moves == {(tid, v): (src, dst) for tid, v, src, dst in applied}

    # Zero illegal transitions applied: every task's history is one unbroken legal chain ending
    # in the row's current version.
    by_task: dict[str, list[tuple[int, str | None, str]]] = defaultdict(list)
    for (tid, version), (src, dst) in truth_events.items():
        by_task[tid].append((version, src, dst))
    rows = {t.id: t for t in store.tasks.list_tasks()}
    for tid, chain in by_task.items():
        chain.sort()
        assert [v for v, _, _ in chain] == list(range(1, len(chain) + 1))
        assert chain[0][1:] == (None, "queued")
        for (_, _, prev_dst), (_, src, dst) in itertools.pairwise(chain):
            assert src == prev_dst
            source, target = TaskState(src), TaskState(dst)
            assert target in LEGAL_TRANSITIONS[source] or (
                source in RETRYABLE_STATES and target is TaskState.QUEUED
            ), f"illegal {src}->{dst} applied to {tid}"
        assert rows[tid].version == chain[-1][0] and rows[tid].state.value == chain[-1][2]

    return applied


def test_embedded_sqlite_threads_race_safely(sqlite_url: str) -> None:
    """The same workload in miniature on SQLite: its writers serialise, nothing is lost."""
    clients, tasks_per_client, ops = 4, 10, 40
    store = TaskStore.open(sqlite_url)
    feed = store.change_feed(poll_interval_s=0.05)
    recorder = Recorder()
    feed.subscribe(recorder)
    feed.start()
    assert feed.wait_until_live(10)
    all_ids = [task_id(c, n) for c in range(clients) for n in range(tasks_per_client)]
    logs: dict[int, ClientLog] = {}

    def run(client: int) -> None:
        logs[client] = drive_client(sqlite_url, client, tasks_per_client, all_ids, ops, client)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    truth_events = db_events(store)
    applied = assert_no_lost_or_illegal_update(store, [vars(log) for log in logs.values()],
                                               truth_events)
    assert len(applied) > 40
    assert wait_until_converged(feed, db_versions(store), timeout=10)
    feed.stop()
    assert recorder.events == truth_events
    assert recorder.duplicate_events == 0 and recorder.backwards == 0
    store.close()
