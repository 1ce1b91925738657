"""The change feed on both back ends: delivery, history, subscribers, and a killed listener."""

from __future__ import annotations

import psycopg
import pytest

from app.domain.store import ChangeSource, FeedStatus, TaskChange, TaskPatch
from app.domain.tasks import TaskState
from app.services.store import TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.pg_feed import LISTENER_APPLICATION_NAME, PgChangeFeed
from tests.store.store_helpers import Recorder, db_events, db_versions, draft, wait_until_converged
from tests.support.waiting import wait_until

S = TaskState


def test_feed_delivers_snapshot_then_live_changes(store: TaskStore) -> None:
    before = store.tasks.create(draft("c1", 1))
    feed = store.change_feed(poll_interval_s=0.1)
    recorder = Recorder()
    statuses: list[FeedStatus] = []
    feed.subscribe(recorder, statuses.append)
    feed.start()
    try:
        assert feed.wait_until_live(10)
        task = store.tasks.create(draft("c1", 2))
        task = store.tasks.transition(
            task.id, S.VALIDATING, expected_state=S.QUEUED, expected_version=1, by_client="c1"
        )
        store.tasks.update(
            task.id, TaskPatch(progress=0.5), expected_state=S.VALIDATING, owner="c1"
        )
        assert wait_until_converged(feed, db_versions(store), timeout=10)
        assert recorder.events == db_events(store)
        assert recorder.latest == {before.id: 1, task.id: 3}
        assert recorder.event_source[(before.id, 1)] is ChangeSource.RESYNC
        live = ChangeSource.NOTIFY if store.is_shared else ChangeSource.POLL
        assert recorder.event_source[(task.id, 2)] is live
        assert recorder.duplicate_events == 0 and recorder.backwards == 0
    finally:
        feed.stop()
    assert statuses[0] is FeedStatus.CONNECTING
    assert FeedStatus.LIVE in statuses and statuses[-1] is FeedStatus.STOPPED


def test_broken_subscriber_does_not_starve_others_and_cancel_stops(store: TaskStore) -> None:
    feed = store.change_feed(poll_interval_s=0.1)
    good = Recorder()
    cancelled = Recorder()

    def broken(_change: TaskChange) -> None:
        raise RuntimeError("subscriber bug")

    feed.subscribe(broken)
    feed.subscribe(good)
    handle = feed.subscribe(cancelled)
    feed.start()
    try:
        assert feed.wait_until_live(10)
        first = store.tasks.create(draft("c1", 1))
        assert wait_until_converged(feed, db_versions(store), timeout=10)
        handle.cancel()
        second = store.tasks.create(draft("c1", 2))
        assert wait_until_converged(feed, db_versions(store), timeout=10)
        assert set(good.latest) == {first.id, second.id}
        assert set(cancelled.latest) == {first.id}
    finally:
        feed.stop()


@pytest.mark.postgres
def test_listener_killed_by_server_reconnects_and_resyncs(pg_store: TaskStore) -> None:
    """Fault injection: the server terminates the listener's session between two commits."""
    feed = pg_store.change_feed()
    recorder = Recorder()
    feed.subscribe(recorder)
    feed.start()
    try:
        assert feed.wait_until_live(10)
        task = pg_store.tasks.create(draft("c1"))
        assert wait_until_converged(feed, db_versions(pg_store), timeout=10)
        with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (LISTENER_APPLICATION_NAME,),
            )
            task = pg_store.tasks.transition(
                task.id, S.VALIDATING, expected_state=S.QUEUED, expected_version=1,
                by_client="c1",
            )
        wait_until(lambda: feed.reconnect_count >= 1, what="the listener reconnected")
        assert wait_until_converged(feed, db_versions(pg_store), timeout=15)
        assert recorder.events == db_events(pg_store)
        assert feed.status is FeedStatus.LIVE
    finally:
        feed.stop()


@pytest.mark.postgres
def test_notification_payload_is_small(pg_store: TaskStore) -> None:
    """The trigger sends id, version and state only; listeners re-read the row."""
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as conn:
        conn.execute('LISTEN "ingest_desk_task_changes"')
        task = pg_store.tasks.create(draft("c1"))
        (notify,) = list(conn.notifies(timeout=5, stop_after=1))
    assert notify.payload.replace(" ", "") == f'{{"id":"{task.id}","v":1,"s":"queued"}}'
    assert len(notify.payload.encode()) < 200


@pytest.mark.postgres
def test_unreachable_server_backs_off_and_stop_interrupts_the_backoff(pg_store: TaskStore) -> None:
    """Every reconnect attempt waits first (no tight loop), and stop() cuts a backoff short."""
    dead = libpq_conninfo(pg_store.url).replace(f":{pg_store.engine.url.port}/", ":1/")
    feed = PgChangeFeed(pg_store.tasks, dead, max_backoff_s=3600.0)
    statuses: list[FeedStatus] = []
    pauses: list[float] = []
    pausing = feed._pause

    def recorded_pause(seconds: float) -> None:
        pauses.append(seconds)
        # From the fourth attempt on, a backoff far longer than any test: only stop() ends it.
        pausing(3600.0 if len(pauses) > 3 else seconds)

    feed._pause = recorded_pause  # type: ignore[method-assign]
    feed.subscribe(lambda _change: None, statuses.append)
    feed.start()
    thread = feed._thread
    assert thread is not None
    wait_until(lambda: len(pauses) > 3, what="the feed was waiting out its fourth backoff")
    # One failed attempt, then one pause, each time: the attempts never come back to back.
    assert feed.reconnect_count == len(pauses)
    assert all(0 < pause <= 3600.0 for pause in pauses)
    feed.stop(timeout=30)
    assert not thread.is_alive()  # the hour-long pause did not hold it
    assert FeedStatus.LIVE not in statuses and FeedStatus.RECONNECTING in statuses
