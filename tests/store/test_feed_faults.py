"""The PostgreSQL change feed's own fault paths, each forced: a notification it cannot read, a
change no notification announces (the periodic resync finds it), and a change committed while
the listener was disconnected (the resync on reconnect finds it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from app.domain.store import ChangeSource, FeedStatus
from app.domain.tasks import TaskState
from app.services.store import TaskStore
from app.services.store.engine import libpq_conninfo
from app.services.store.models import NOTIFY_CHANNEL
from app.services.store.pg_feed import LISTENER_APPLICATION_NAME, PgChangeFeed
from tests.store.store_helpers import Recorder, db_events, db_versions, draft, wait_until_converged
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres

S = TaskState


@pytest.fixture
def admin(pg_store: TaskStore) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(libpq_conninfo(pg_store.url), autocommit=True) as conn:
        yield conn


def _feed(store: TaskStore, **timing: float) -> tuple[PgChangeFeed, Recorder]:
    feed = PgChangeFeed(store.tasks, libpq_conninfo(store.url), **timing)
    recorder = Recorder()
    feed.subscribe(recorder)
    feed.start()
    assert feed.wait_until_live(20)
    return feed, recorder


def _silently(admin: psycopg.Connection[tuple[object, ...]], task_id: str) -> None:
    """Move a task on with the tables' triggers off (replica mode): no notification is sent,
    as if it had been lost on the way."""
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute(
            "UPDATE tasks SET version = version + 1, progress = 0.25 WHERE id = %s", (task_id,)
        )


def test_an_unreadable_notification_is_ignored_and_the_feed_goes_on(
    pg_store: TaskStore, admin: psycopg.Connection[tuple[object, ...]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The minutely safety resync is put off: any resync below is the feed's answer to the
    # unreadable payloads, and any change after them must come by NOTIFY.
    feed, recorder = _feed(pg_store, safety_resync_s=3600.0, wake_interval_s=0.05)
    try:
        resyncs = feed.resync_count
        for payload in ("not json", '{"id": "x"}', '{"v": 2}', '{"id": "x", "v": "two"}', "[]"):
            admin.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, payload))
        # Read and set aside: the feed re-reads the table once (it cannot know what was meant).
        wait_until(lambda: feed.resync_count > resyncs, what="the feed read past the garbage")
        assert feed.status is FeedStatus.LIVE and feed.reconnect_count == 0
        assert recorder.calls == 0  # nothing changed, so nothing was delivered
        assert "unreadable task change notification 'not json'" in caplog.text
        task = pg_store.tasks.create(draft("c1"))
        assert wait_until_converged(feed, db_versions(pg_store), timeout=20)
        assert recorder.event_source[(task.id, 1)] is ChangeSource.NOTIFY
        assert feed.reconnect_count == 0
    finally:
        feed.stop()


def test_the_periodic_resync_finds_a_change_no_notification_announced(
    pg_store: TaskStore, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    task = pg_store.tasks.create(draft("c1"))
    feed, recorder = _feed(pg_store, safety_resync_s=0.2, wake_interval_s=0.05)
    try:
        assert recorder.latest == {task.id: 1}
        _silently(admin, task.id)
        assert wait_until_converged(feed, {task.id: 2}, timeout=20)
        assert recorder.by_source[ChangeSource.NOTIFY] == 0
        assert feed.reconnect_count == 0  # not a reconnect's resync: the periodic one
        assert recorder.latest == {task.id: 2}
    finally:
        feed.stop()


def test_a_change_made_while_the_listener_was_away_comes_with_the_reconnect_resync(
    pg_store: TaskStore, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    feed, recorder = _feed(pg_store, safety_resync_s=3600.0, wake_interval_s=0.05)
    # Fault injection: after the listener loses its session, its next connection attempt is
    # held until the test lets it go, so the change below is made while it is away.
    reconnect = threading.Event()
    session = feed._session

    def held_session() -> None:
        assert reconnect.wait(60)
        session()

    feed._session = held_session  # type: ignore[method-assign]
    try:
        first = pg_store.tasks.create(draft("c1", 1))
        assert wait_until_converged(feed, db_versions(pg_store), timeout=20)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (LISTENER_APPLICATION_NAME,),
        )
        wait_until(lambda: feed.status is FeedStatus.RECONNECTING, what="the listener was cut off")
        away = pg_store.tasks.create(draft("c1", 2))
        moved = pg_store.tasks.transition(
            first.id, S.VALIDATING, expected_state=S.QUEUED, expected_version=1, by_client="c1"
        )
        reconnect.set()
        assert wait_until_converged(feed, db_versions(pg_store), timeout=20)
        assert feed.status is FeedStatus.LIVE and feed.reconnect_count == 1
        assert recorder.event_source[(away.id, 1)] is ChangeSource.RESYNC
        assert recorder.event_source[(moved.id, 2)] is ChangeSource.RESYNC
        assert recorder.events == db_events(pg_store)
        assert recorder.duplicate_events == 0 and recorder.backwards == 0
    finally:
        reconnect.set()
        feed.stop()
