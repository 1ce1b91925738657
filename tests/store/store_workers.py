"""Client workloads the concurrency and leader tests run in threads and in child processes."""

from __future__ import annotations

import multiprocessing.synchronize
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.domain.store import NewTask
from app.domain.tasks import LEGAL_TRANSITIONS, RETRYABLE_STATES, IngestMode, Task, TaskState
from app.services.store import (
    IllegalTransitionError,
    LostRaceError,
    TaskNotFoundError,
    TaskStore,
)
from tests.store.store_helpers import Recorder, db_versions
from tests.support.delays import hold_forever, inject_delay
from tests.support.waiting import eventually

TERMINAL_EXITS = frozenset({TaskState.FAILED, TaskState.CANCELLED})


def task_id(client: int, n: int) -> str:
    return f"t-{client:02d}-{n:03d}"


@dataclass
class ClientLog:
    applied: list[tuple[str, int, str, str]] = field(default_factory=list)
    illegal: int = 0
    lost: int = 0
    missing: int = 0


def drive_client(
    url: str, client: int, tasks_per_client: int, all_ids: list[str], ops: int, seed: int
) -> ClientLog:
    """Create this client's tasks, then fire random legal and illegal moves at any task."""
    rng = random.Random(seed)
    log = ClientLog()
    name = f"client-{client}"
    store = TaskStore.open(url, allow_upgrade=False, pool_size=2)
    try:
        for n in range(tasks_per_client):
            store.tasks.create(
                NewTask(
                    file_name=f"{name}-{n}.csv", file_size=n, sha256=f"{client:02d}{n:062d}",
                    source_client=name, datasource="sales", mode=IngestMode.APPEND,
                    id=task_id(client, n),
                )
            )
        cache: dict[str, Task] = {}
        # A few hot tasks everyone hammers make races certain rather than merely possible.
        hot = all_ids[:: tasks_per_client * 2]
        for _ in range(ops):
            tid = rng.choice(hot) if rng.random() < 0.4 else rng.choice(all_ids)
            try:
                # Half the time act on a possibly stale snapshot, as a slow UI would.
                task = cache[tid] if tid in cache and rng.random() < 0.5 else store.tasks.get(tid)
            except TaskNotFoundError:
                log.missing += 1
                continue
            _one_move(store, rng, task, name, log, cache)
    finally:
        store.close()
    return log


def _one_move(
    store: TaskStore,
    rng: random.Random,
    task: Task,
    name: str,
    log: ClientLog,
    cache: dict[str, Task],
) -> None:
    legal = sorted(LEGAL_TRANSITIONS[task.state])
    forward = [s for s in legal if s not in TERMINAL_EXITS]
    roll = rng.random()
    try:
        if task.state in RETRYABLE_STATES and roll < 0.6:
            new = store.tasks.retry(
                task.id, expected_state=task.state, expected_version=task.version, by_client=name
            )
        else:
            if forward and roll < 0.6:
                target = rng.choice(forward)
            elif legal and roll < 0.7:
                target = rng.choice(legal)
            else:
                target = rng.choice(list(TaskState))  # mostly illegal
            new = store.tasks.transition(
                task.id, target, expected_state=task.state, expected_version=task.version,
                by_client=name,
            )
        log.applied.append((task.id, new.version, task.state.value, new.state.value))
        cache[task.id] = new
    except IllegalTransitionError:
        log.illegal += 1
    except LostRaceError as lost:
        log.lost += 1
        if lost.current is not None:
            cache[task.id] = lost.current


def listener_summary(recorder: Recorder, converged: bool) -> dict[str, Any]:
    return {
        "events": dict(recorder.events),
        "latest": dict(recorder.latest),
        "duplicates": recorder.duplicate_events,
        "backwards": recorder.backwards,
        "converged": converged,
    }


def client_process(
    url: str,
    clients: list[int],
    tasks_per_client: int,
    all_ids: list[str],
    ops: int,
    listeners: int,
    results: Any,
    all_done: multiprocessing.synchronize.Event,
) -> None:
    """A child process: several client threads plus its own listeners, reporting back at the end."""
    store = TaskStore.open(url, allow_upgrade=False, pool_size=2)
    feeds, recorders = [], []
    for _ in range(listeners):
        feed = store.change_feed()
        recorder = Recorder()
        feed.subscribe(recorder)
        feed.start()
        feeds.append(feed)
        recorders.append(recorder)
    for feed in feeds:
        feed.wait_until_live(30)
    logs: dict[int, ClientLog] = {}

    def run(client: int) -> None:
        logs[client] = drive_client(url, client, tasks_per_client, all_ids, ops, seed=client)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(("ops_done", os.getpid()))
    all_done.wait(300)
    expected = db_versions(store)
    summaries = [
        # Not the raising wait: a child that raised would leave the parent waiting on its queue.
        listener_summary(r, eventually(lambda f=f: f.known_versions() == expected, timeout=30))
        for f, r in zip(feeds, recorders, strict=True)
    ]
    for feed in feeds:
        feed.stop()
    store.close()
    results.put(("result", [vars(log) for log in logs.values()], summaries))


def campaign_process(url: str, role: str, results: Any) -> None:
    """A would-be Druid poller: reports when it is elected, then keeps the lock until killed."""
    store = TaskStore.open(url, allow_upgrade=False, pool_size=1)
    election = store.leader_election(
        role,
        on_elected=lambda: results.put(("elected", os.getpid(), time.time())),
        retry_interval_s=0.2,
    )
    election.start()
    results.put(("campaigning", os.getpid(), time.time()))
    hold_forever()


def open_store_process(url: str, barrier: Any, results: Any) -> None:
    """An app starting up against a database that may still be empty."""
    barrier.wait(60)
    try:
        with TaskStore.open(url) as store:
            results.put(("ok", str(store.schema_status)))
    except Exception as exc:
        results.put(("error", repr(exc)))


ENDLESS_EXCLUDED = frozenset({TaskState.CANCELLED, TaskState.SUCCEEDED})


class EndlessWriter(threading.Thread):
    """Keeps moving tasks forward through a server's outage: failures are retried and nothing
    succeeds, so the tasks never run out of moves. A lost race is normal; anything else is a
    failed write, kept in `failures` for the test to judge."""

    def __init__(self, store: TaskStore, ids: list[str], seed: int, pace_s: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.store, self.ids, self.rng = store, ids, random.Random(seed)
        self.pace_s = pace_s
        self.stopping = threading.Event()
        self.applied: list[tuple[str, int]] = []
        self.failures: list[BaseException] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                task = self.store.tasks.get(self.rng.choice(self.ids))
                if task.state in RETRYABLE_STATES:
                    new = self.store.tasks.retry(
                        task.id, expected_state=task.state, expected_version=task.version,
                        by_client="writer",
                    )
                else:
                    targets = sorted(LEGAL_TRANSITIONS[task.state] - ENDLESS_EXCLUDED)
                    new = self.store.tasks.transition(
                        task.id, self.rng.choice(targets), expected_state=task.state,
                        expected_version=task.version, by_client="writer",
                    )
                self.applied.append((new.id, new.version))
            except (LostRaceError, IllegalTransitionError):
                pass
            except Exception as exc:
                self.failures.append(exc)
                inject_delay(0.05)  # an outage is no reason to hammer the server
            if self.pace_s:
                inject_delay(self.pace_s)  # a steady trickle of writes, not a flood
