"""Advisory-lock leader election: one Druid poller at a time, and a takeover when it dies.

How quickly a successor takes over is measured in bench/leader_takeover.py; these tests check
the order of events only (the lock is refused while held, granted once its holder is gone).
"""

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
from tests.support.waiting import wait_until


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
def test_killed_leader_is_replaced_by_a_refused_candidate(pg_url: str) -> None:
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
    try:
        for _ in range(3):
            inbox.next("campaigning", 60)
        _, leader, _ = inbox.next("elected", 30)
        for _round in range(2):
            # Every other candidate has asked for the lock and been refused: one holder only.
            others = len(alive) - 1
            with psycopg.connect(libpq_conninfo(pg_url), autocommit=True) as admin:
                wait_until(
                    lambda: _refused(admin) >= others,  # noqa: B023 - read at once, each round
                    timeout=30, what=f"{others} candidates were refused the lock",
                )
            assert _lock_holders(pg_url, role) == 1
            os.kill(leader, signal.SIGKILL)
            alive.pop(leader).join(10)
            _, successor, _ = inbox.next("elected", 30)
            assert successor in alive and successor != leader
            leader = successor
        assert _lock_holders(pg_url, role) == 1
    finally:
        for process in alive.values():
            process.kill()
            process.join(10)


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
    # The second candidate has asked for the lock and been refused while the first holds it.
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as admin:
        wait_until(lambda: _refused(admin) == 1, what="the second candidate was refused")
    assert not second.is_leader and elected == ["a"]
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
    # The health probe notices the lost session; the first steps down, and one of the two wins.
    wait_until(lambda: "a" in deposed, what="the first leader stepped down", timeout=30)
    wait_until(lambda: first.is_leader or second.is_leader, what="a new leader", timeout=30)
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as admin:
        # The loser has tried and been refused since: two leaders at once would show here.
        wait_until(lambda: _refused(admin) == 1, what="the other candidate was refused")
    assert first.is_leader != second.is_leader
    leader, follower = (first, second) if first.is_leader else (second, first)
    leader.stop()
    assert follower.wait_until_leader(30)
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


def _refused(admin: psycopg.Connection[Any]) -> int:
    """Candidates whose last word to the server was a lock request it refused: idle after
    pg_try_advisory_lock, and holding no advisory lock."""
    row = admin.execute(
        "SELECT COUNT(*) FROM pg_stat_activity a "
        "WHERE a.application_name = %s AND a.datname = current_database() "
        "AND a.state = 'idle' AND a.query LIKE 'SELECT pg_try_advisory_lock(%%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_locks l "
        "WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)",
        (LEADER_APPLICATION_NAME,),
    ).fetchone()
    return int(row[0]) if row else 0
