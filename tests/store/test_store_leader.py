"""Advisory-lock leader election: one Druid poller at a time, and a quick takeover when it dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import psycopg
import pytest

from app.services.store import SoloLeaderElection, TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.leader import LEADER_APPLICATION_NAME, lock_key
from tests.store.store_workers import campaign_process

TAKEOVER_LIMIT_S = 5.0


def _lock_holders(url: str, role: str) -> int:
    key = lock_key(role)
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = (%s::bigint)",
            (key,),
        ).fetchone()
    assert row is not None
    return int(row[0])


class Inbox:
    """Messages from the candidates, taken by kind in arrival order (none is dropped)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.pending: list[tuple[Any, ...]] = []

    def next(self, kind: str, timeout: float) -> tuple[Any, ...]:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.pending:
                if message[0] == kind:
                    self.pending.remove(message)
                    return message
            self.pending.append(
                tuple(self.queue.get(timeout=max(0.01, deadline - time.monotonic())))
            )


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_leader_is_replaced_within_seconds(pg_url: str) -> None:
    TaskStore.open(pg_url).close()
    role = "druid-poller-test"
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    processes = [
        ctx.Process(target=campaign_process, args=(pg_url, role, results), daemon=True)
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    alive = {p.pid: p for p in processes}
    inbox = Inbox(results)
    takeovers: list[float] = []
    try:
        for _ in range(3):
            inbox.next("campaigning", 60)
        _, leader, _ = inbox.next("elected", 30)
        for _round in range(2):
            # Only one candidate holds the lock, even with all of them campaigning.
            time.sleep(0.5)
            assert _lock_holders(pg_url, role) == 1
            killed_at = time.time()
            os.kill(leader, signal.SIGKILL)
            alive.pop(leader).join(10)
            _, successor, elected_at = inbox.next("elected", TAKEOVER_LIMIT_S + 5)
            assert successor in alive and successor != leader
            takeovers.append(elected_at - killed_at)
            leader = successor
        assert _lock_holders(pg_url, role) == 1
    finally:
        for process in alive.values():
            process.kill()
            process.join(10)
    assert all(delay < TAKEOVER_LIMIT_S for delay in takeovers), takeovers
    print(f"\nleader takeover after SIGKILL: {', '.join(f'{d:.2f}s' for d in takeovers)}")


@pytest.mark.postgres
def test_leader_steps_down_when_its_session_dies_and_hands_over_on_stop(
    pg_store: TaskStore,
) -> None:
    elected: list[str] = []
    deposed: list[str] = []
    lock = threading.Lock()

    def note(where: list[str], name: str) -> Any:
        def callback() -> None:
            with lock:
                where.append(name)
        return callback

    first = pg_store.leader_election(
        "poller", on_elected=note(elected, "a"), on_deposed=note(deposed, "a"),
        retry_interval_s=0.1,
    )
    first.start()
    assert first.wait_until_leader(5)
    second = pg_store.leader_election(
        "poller", on_elected=note(elected, "b"), on_deposed=note(deposed, "b"),
        retry_interval_s=0.1,
    )
    second.start()
    # The second candidate is campaigning once its own lock connection is open; give it one
    # retry interval past that to try, and it must still not lead while the first holds on.
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as admin:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _candidates(admin) < 2:
            time.sleep(0.02)
        assert _candidates(admin) == 2
    assert not second.wait_until_leader(0.3)
    assert first.is_leader
    # A different role is an independent election.
    other = pg_store.leader_election("reaper", retry_interval_s=0.1)
    other.start()
    assert other.wait_until_leader(5)
    other.stop()
    # The server kills the leader's session: it must notice and step down.
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as admin:
        pids = [
            row[0]
            for row in admin.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (LEADER_APPLICATION_NAME,),
            )
        ]
        assert len(pids) == 2
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
    # The health probe runs every second, so the loss is noticed within about that.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "a" not in deposed:
        time.sleep(0.02)
    assert "a" in deposed
    assert first.wait_until_leader(0.01) or second.wait_until_leader(5)
    time.sleep(0.3)
    assert first.is_leader != second.is_leader
    leader, follower = (first, second) if first.is_leader else (second, first)
    leader.stop()
    assert follower.wait_until_leader(3)
    follower.stop()
    assert not follower.is_leader


def test_embedded_mode_always_leads(sqlite_url: str) -> None:
    with TaskStore.open(sqlite_url) as store:
        calls: list[str] = []
        election = store.leader_election(
            on_elected=lambda: calls.append("up"), on_deposed=lambda: calls.append("down")
        )
        assert isinstance(election, SoloLeaderElection)
        election.start()
        assert election.is_leader
        election.stop()
        assert calls == ["up", "down"]


def _candidates(admin: psycopg.Connection[Any]) -> int:
    """Open lock connections of leader elections (each candidate holds one while it runs)."""
    row = admin.execute(
        "SELECT COUNT(*) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()",
        (LEADER_APPLICATION_NAME,),
    ).fetchone()
    return int(row[0]) if row else 0
