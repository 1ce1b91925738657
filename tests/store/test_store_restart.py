"""Server restarts and locked-out listeners mid-run: every change still reaches every listener."""

from __future__ import annotations

import logging

import psycopg
import pytest

from app.domain.store import ChangeSource, FeedStatus
from app.services.store import (
    TaskStore,
)
from app.services.store.engine import libpq_conninfo
from app.services.store.tempcluster import TempPostgres
from tests.store.store_helpers import Recorder, db_events, db_versions, draft, wait_until_converged
from tests.store.store_workers import EndlessWriter
from tests.support.waiting import wait_until

LISTENERS = 4
TASKS = 60
WATCHER = "watcher"


def _admin(server: TempPostgres, database: str, *statements: str) -> None:
    with psycopg.connect(libpq_conninfo(server.url_for(database)), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.slow
@pytest.mark.postgres
def test_listeners_survive_restart_and_resync_missed_changes(
    own_server: TempPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services.store.units")
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
    writers = [EndlessWriter(store, ids, seed, pace_s=0.01) for seed in range(2)]
    for writer in writers:
        writer.start()
    def writes() -> int:
        return sum(len(w.applied) for w in writers)

    try:
        wait_until(lambda: writes() >= 20, timeout=30, what="the writers were under way")
        # 1. The whole server goes away and comes back on the same port.
        own_server.stop("fast")
        # The writers ride the outage out (their writes are repeated); the listeners notice it.
        wait_until(
            lambda: not any(f.status is FeedStatus.LIVE for f in feeds),
            timeout=30, what="the listeners all met the outage",
        )
        own_server.start()
        wait_until(
            lambda: all(f.status is FeedStatus.LIVE and f.reconnect_count >= 1 for f in feeds),
            timeout=30, what="every listener was live again",
        )
        after_restart = writes()
        wait_until(lambda: writes() >= after_restart + 20, timeout=30,
                   what="the writers were back at work")
        # 2. Listeners are cut off and cannot log back in, while writers keep committing.
        reconnects_before = [f.reconnect_count for f in feeds]
        _admin(
            own_server, "restart",
            f"ALTER ROLE {WATCHER} NOLOGIN",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{WATCHER}'",
        )
        # pg_terminate_backend only signals the backends: a notification already on its way may
        # still arrive. Once every feed has noticed the loss nothing can, so the window opens then.
        wait_until(lambda: not any(f.status is FeedStatus.LIVE for f in feeds), timeout=30,
                   what="every listener noticed it was cut off")
        # A write is recorded just after its commit returns, so the one each writer may have in
        # flight now could have been committed (and notified) before the cut: the window opens
        # after it, and closes before the listeners may log in again.
        window_start = [len(w.applied) + 1 for w in writers]
        wait_until(
            lambda: all(
                len(w.applied) >= start + 10
                for w, start in zip(writers, window_start, strict=True)
            ),
            timeout=30, what="every writer committed while the listeners were locked out",
        )
        window_end = [len(w.applied) for w in writers]
        _admin(own_server, "restart", f"ALTER ROLE {WATCHER} LOGIN")
        wait_until(
            lambda: all(
                f.status is FeedStatus.LIVE and f.reconnect_count > before
                for f, before in zip(feeds, reconnects_before, strict=True)
            ),
            timeout=30, what="every listener logged back in",
        )
        after_login = writes()
        wait_until(lambda: writes() >= after_login + 10, timeout=30,
                   what="the writers went on after the listeners were back")
    finally:
        for writer in writers:
            writer.stopping.set()
        for writer in writers:
            writer.join(10)
    try:
        repeated = [r for r in caplog.records if "repeating the transaction" in r.getMessage()]
        assert repeated, "the restart never hit the writers"
        assert [w.failures for w in writers] == [[], []]
        truth_versions, truth_events = db_versions(store), db_events(store)
        missed_while_away = {
            key
            for w, start, end in zip(writers, window_start, window_end, strict=True)
            for key in w.applied[start:end]
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
