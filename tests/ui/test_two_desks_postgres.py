"""Two windows on one real PostgreSQL: what one desk does appears in the other without a refresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.domain.tasks import TaskState
from app.services.settings import Settings
from app.ui.app import build_window
from app.ui.main_window import MainWindow
from tests.store.conftest import pg_server, pg_url  # noqa: F401

from .ui_helpers import SAMPLES


def _open(qtbot: QtBot, settings: Settings, url: str) -> MainWindow:
    window = build_window(settings, database_url=url, poll_interval_s=5.0)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.controller.sessionReady, timeout=20_000):
        window.controller.start()
    session = window.controller.session
    assert session is not None
    # Only NOTIFY may carry changes during the test: the minutely safety resync is put off, and
    # the feed's first resync (at start) is over once it is live.
    session._feed._safety_resync_s = 3600.0  # type: ignore[attr-defined]
    assert session._feed.wait_until_live(20)
    return window


@pytest.fixture
def two_desks(
    qtbot: QtBot, settings: Settings, pg_url: str  # noqa: F811
) -> Iterator[tuple[MainWindow, ...]]:
    # On PostgreSQL the feed resyncs the whole table only at start, after a reconnect or after
    # an unreadable notification (and once a minute): `_only_notify` checks none of those ran,
    # so a change that arrived came by LISTEN/NOTIFY, however long it took.
    first, second = _open(qtbot, settings, pg_url), _open(qtbot, settings, pg_url)
    yield first, second
    first.close()
    second.close()


def _resyncs(window: MainWindow) -> tuple[int, int]:
    """How often this desk's feed re-read the whole table, and reconnected."""
    session = window.controller.session
    assert session is not None
    feed = session._feed
    return feed.resync_count, feed.reconnect_count


def _state_in(window: MainWindow, task_id: str) -> TaskState | None:
    task = window.model.task_by_id(task_id)
    return task.state if task is not None else None


def test_a_task_added_on_one_desk_goes_live_on_the_other(
    qtbot: QtBot, two_desks: tuple[MainWindow, MainWindow]
) -> None:
    alice, bob = two_desks
    assert alice.controller.session is not None
    assert alice.controller.session.info.database.shared
    session = alice.controller.session
    alice_before, bob_before = _resyncs(alice), _resyncs(bob)
    task = session.pipeline.enqueue(SAMPLES / "sales_clean.csv").task
    qtbot.waitUntil(lambda: _state_in(bob, task.id) is TaskState.QUEUED, timeout=20_000)
    assert _resyncs(bob) == bob_before  # no resync ran: the notification carried it
    alice.controller.validate(task.id)
    qtbot.waitUntil(lambda: _state_in(bob, task.id) is TaskState.READY, timeout=20_000)
    shown = bob.model.task_by_id(task.id)
    assert shown is not None
    assert shown.rows_validated == 200
    assert shown.validation_summary is not None
    assert shown.validation_summary.startswith("Valid: 200 rows.")

    # Bob cancels it; Alice's table follows.
    assert bob.select_task(task.id)
    assert bob.cancel_action.isEnabled()
    bob.cancel_action.trigger()
    qtbot.waitUntil(lambda: _state_in(alice, task.id) is TaskState.CANCELLED, timeout=20_000)
    assert _state_in(bob, task.id) is TaskState.CANCELLED
    assert _resyncs(alice) == alice_before and _resyncs(bob) == bob_before
