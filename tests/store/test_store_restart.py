"""Server restarts and locked-out listeners mid-run: every change still reaches every listener."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from app.domain.store import ChangeSource, FeedStatus
from app.domain.tasks import LEGAL_TRANSITIONS, RETRYABLE_STATES, TaskState
from app.services.store import (
    IllegalTransitionError,
    LostRaceError,
    StoreUnavailableError,
    TaskStore,
)
from app.services.store.engine import libpq_conninfo
from app.services.store.tempcluster import TempPostgres
from tests.store.store_helpers import Recorder, db_events, db_versions, draft, wait_until_converged

LISTENERS = 4
TASKS = 60
WATCHER = "watcher"
ENDLESS_EXCLUDED = frozenset({TaskState.CANCELLED, TaskState.SUCCEEDED})


@pytest.fixture
def own_server() -> Iterator[TempPostgres]:
    """A cluster of its own: this test stops and starts the server."""
    server = TempPostgres(max_connections=100)
    server.start()
    yield server
    server.cleanup()


class Writer(threading.Thread):
    """Keeps moving tasks forward, shrugging off the outage the test causes."""

    def __init__(self, store: TaskStore, ids: list[str], seed: int) -> None:
        super().__init__(daemon=True)
        self.store, self.ids, self.rng = store, ids, random.Random(seed)
        self.stopping = threading.Event()
        self.applied: list[tuple[str, int, float]] = []
        self.outage_errors = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                task = self.store.tasks.get(self.rng.choice(self.ids))
                # Failures get retried and nothing succeeds, so the tasks never run out of moves.
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
                self.applied.append((new.id, new.version, time.monotonic()))
            except (LostRaceError, IllegalTransitionError):
                pass
            except StoreUnavailableError:
                # The store repeats a write through a restart (units.py); only one that
                # outlasts its deadline fails, and none should here.
                self.outage_errors += 1
                time.sleep(0.05)
            time.sleep(0.01)


def _admin(server: TempPostgres, database: str, *statements: str) -> None:
    with psycopg.connect(libpq_conninfo(server.url_for(database)), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.slow
@pytest.mark.postgres
def test_listeners_survive_restart_and_resync_missed_changes(
    own_server: TempPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.services.store.units")
    url = own_server.create_database("restart")
    store = TaskStore.open(url)
    ids = [store.tasks.create(draft("c1", n)).id for n in range(TASKS)]
    # Listeners log in as their own role so the test can lock them out while writers go on.
    _admin(
        own_server, "restart",
        f"CREATE ROLE {WATCHER} LOGIN",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {WATCHER}",
    )
    watcher_store = TaskStore.open(url.replace("postgres@", f"{WATCHER}@"), allow_upgrade=False)
    feeds, recorders = [], []
    for _ in range(LISTENERS):
        feed = watcher_store.change_feed()
        recorder = Recorder()
        feed.subscribe(recorder)
        feed.start()
        feeds.append(feed)
        recorders.append(recorder)
    assert all(feed.wait_until_live(15) for feed in feeds)
    writers = [Writer(store, ids, seed) for seed in range(2)]
    for writer in writers:
        writer.start()
    try:
        time.sleep(1.0)
        # 1. The whole server goes away and comes back on the same port.
        own_server.stop("fast")
        time.sleep(1.5)
        own_server.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            f.status is FeedStatus.LIVE and f.reconnect_count >= 1 for f in feeds
        ):
            time.sleep(0.05)
        assert all(f.reconnect_count >= 1 for f in feeds)
        time.sleep(1.0)
        # 2. Listeners are cut off and cannot log back in, while writers keep committing.
        reconnects_before = [f.reconnect_count for f in feeds]
        _admin(
            own_server, "restart",
            f"ALTER ROLE {WATCHER} NOLOGIN",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{WATCHER}'",
        )
        # pg_terminate_backend only signals the backends: a notification already on its way may
        # still arrive. Once every feed has noticed the loss nothing can, so the window opens then.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(f.status is FeedStatus.LIVE for f in feeds):
            time.sleep(0.02)
        assert not any(f.status is FeedStatus.LIVE for f in feeds)
        time.sleep(0.1)  # a writer's commit time is taken just after its commit returns
        window_start = time.monotonic()
        time.sleep(1.5)
        window_end = time.monotonic()
        _admin(own_server, "restart", f"ALTER ROLE {WATCHER} LOGIN")
        time.sleep(1.0)
    finally:
        for writer in writers:
            writer.stopping.set()
        for writer in writers:
            writer.join(10)
    try:
        repeated = [r for r in caplog.records if "repeating the transaction" in r.getMessage()]
        assert repeated, "the restart never hit the writers"
        assert sum(w.outage_errors for w in writers) == 0
        truth_versions, truth_events = db_versions(store), db_events(store)
        missed_while_away = {
            (tid, version)
            for w in writers
            for tid, version, at in w.applied
            if window_start < at < window_end
        }
        assert missed_while_away, "nothing was written while the listeners were locked out"
        for feed, recorder, before in zip(feeds, recorders, reconnects_before, strict=True):
            assert wait_until_converged(feed, truth_versions, timeout=30)
            assert feed.reconnect_count > before
            assert recorder.events == truth_events
            assert recorder.duplicate_events == 0 and recorder.backwards == 0
            # What happened while a listener was locked out can only have come from its resync.
            for key in missed_while_away:
                assert recorder.event_source[key] is ChangeSource.RESYNC
    finally:
        for feed in feeds:
            feed.stop()
        watcher_store.close()
        store.close()
    applied = sum(len(w.applied) for w in writers)
    print(f"\nrestart: {applied} writes, {len(missed_while_away)} while listeners were away")
