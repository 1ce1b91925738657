"""The change feed every client subscribes to; this module holds the shared part and polling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import Connection

from app.domain.store import ChangeSource, FeedStatus, TaskChange
from app.services.store.repository import TaskRepository

log = logging.getLogger(__name__)

ChangeCallback = Callable[[TaskChange], None]
StatusCallback = Callable[[FeedStatus], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    """Handle returned by subscribe(); cancel() stops further callbacks."""

    feed: ChangeFeed
    token: int

    def cancel(self) -> None:
        self.feed.unsubscribe(self)


class ChangeFeed:
    """Delivers each task change once per subscriber, never older than what it already delivered.

    Callbacks run on the feed's own thread, one at a time and in order; a UI adapter hops them
    onto its thread (a queued signal). Each callback receives the task's current row plus every
    history event since the previous delivery for that task, so a coalesced burst or a gap after
    a reconnect still shows the full history.
    """

    thread_name = "task-change-feed"

    def __init__(self, repository: TaskRepository) -> None:
        self._repository = repository
        self._known: dict[str, int] = {}
        self._subscribers: dict[int, tuple[ChangeCallback, StatusCallback | None]] = {}
        self._next_token = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._live = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = FeedStatus.STOPPED
        # A dedicated read connection (PostgreSQL feed) skips the pool's checkout ping.
        self._conn: Connection | None = None
        self.resync_count = 0
        self.reconnect_count = 0

    # -- public API ----------------------------------------------------------------------------

    @property
    def status(self) -> FeedStatus:
        return self._status

    def subscribe(
        self, on_change: ChangeCallback, on_status: StatusCallback | None = None
    ) -> Subscription:
        with self._lock:
            self._next_token += 1
            token = self._next_token
            self._subscribers[token] = (on_change, on_status)
        return Subscription(self, token)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.pop(subscription.token, None)

    def start(self) -> None:
        """Begin delivering: first every existing task (as RESYNC), then live changes."""
        if self._thread is not None:
            raise RuntimeError("feed already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def wait_until_live(self, timeout: float) -> bool:
        return self._live.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_status(FeedStatus.STOPPED)

    def known_versions(self) -> dict[str, int]:
        """The newest version delivered for each task (tests compare it to the table)."""
        with self._lock:
            return dict(self._known)

    def known_version(self, task_id: str) -> int:
        with self._lock:
            return self._known.get(task_id, 0)

    # -- for subclasses ------------------------------------------------------------------------

    def _run(self) -> None:
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Wake the feed thread so stop() does not wait out a timeout."""

    def _set_status(self, status: FeedStatus) -> None:
        if status == self._status:
            return
        self._status = status
        if status == FeedStatus.LIVE:
            self._live.set()
        else:
            self._live.clear()
        with self._lock:
            listeners = [cb for _, cb in self._subscribers.values() if cb is not None]
        for callback in listeners:
            try:
                callback(status)
            except Exception:
                # A broken subscriber must not stop the feed.
                log.exception("status subscriber failed")

    def _sync(self, ids: Collection[str] | None, source: ChangeSource) -> int:
        """Deliver whatever changed: for `ids` (from notifications), or the whole table (None)."""
        if source == ChangeSource.RESYNC:
            self.resync_count += 1
        if ids is None:
            current = self._repository.versions(self._conn)
            with self._lock:
                known = dict(self._known)
            ids = [task_id for task_id, v in current.items() if v > known.get(task_id, 0)]
        else:
            with self._lock:
                known = {task_id: self._known[task_id] for task_id in ids if task_id in self._known}
        if not ids:
            return 0
        changes = self._repository.changes(ids, known, source, self._conn)
        delivered = 0
        for change in changes:
            with self._lock:
                # Only this thread writes _known, so the check holds until the update below;
                # a read older than what was delivered must never move a view backwards.
                if change.task.version <= self._known.get(change.task.id, 0):
                    continue
                callbacks = [cb for cb, _ in self._subscribers.values()]
            for callback in callbacks:
                try:
                    callback(change)
                except Exception:
                    # One broken subscriber must not starve the others or stop the feed.
                    log.exception("change subscriber failed for task %s", change.task.id)
            with self._lock:
                # Recorded after the callbacks, so "known" means "every subscriber was told".
                self._known[change.task.id] = change.task.version
            delivered += 1
        return delivered


class PollingChangeFeed(ChangeFeed):
    """Embedded SQLite mode: compare (id, version) against the table every `interval` seconds."""

    thread_name = "task-change-poller"

    def __init__(self, repository: TaskRepository, *, interval: float = 1.0) -> None:
        super().__init__(repository)
        self._interval = interval

    def _interrupt(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        self._set_status(FeedStatus.CONNECTING)
        while not self._stopping.is_set():
            try:
                self._sync(None, ChangeSource.POLL if self._live.is_set() else ChangeSource.RESYNC)
                self._set_status(FeedStatus.LIVE)
            except Exception:
                # A locked or briefly missing file is simply retried on the next tick.
                log.exception("polling the task table failed")
                self._set_status(FeedStatus.RECONNECTING)
            self._stopping.wait(self._interval)
