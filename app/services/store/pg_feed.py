"""PostgreSQL change feed: LISTEN on a dedicated connection, re-read rows, resync after any gap."""

from __future__ import annotations

import json
import logging
import time

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_random_exponential,
)

from app.domain.store import ChangeSource, FeedStatus
from app.services.store.engine import PG_KEEPALIVES
from app.services.store.feed import ChangeFeed
from app.services.store.models import NOTIFY_CHANNEL
from app.services.store.repository import TaskRepository

log = logging.getLogger(__name__)

LISTENER_APPLICATION_NAME = "ingest-desk-listener"
_TRANSIENT = (psycopg.Error, SQLAlchemyError)


class _ConnectionLost(Exception):
    """A live session ended; the next connection attempt starts a fresh backoff."""


class PgChangeFeed(ChangeFeed):
    """Live changes from the tasks trigger's pg_notify, with reconnect, backoff and resync.

    Notifications only say "task X reached version V"; the feed re-reads the row and its new
    history events. Anything that happened while the connection was down is found by comparing
    every task's version with what was already delivered, right after LISTEN is re-issued, so
    a change is either in that resync or arrives as a notification (duplicates are dropped).
    """

    thread_name = "task-change-listener"

    def __init__(
        self,
        repository: TaskRepository,
        conninfo: str,
        *,
        reader: Engine | None = None,
        max_backoff_s: float = 5.0,
        safety_resync_s: float = 60.0,
        wake_interval_s: float = 0.5,
    ) -> None:
        super().__init__(repository)
        self._conninfo = conninfo
        # Re-reads go over one long-lived connection of the feed's own, never the shared pool,
        # so twenty feeds cannot starve the app's writers (and no checkout ping per change).
        self._reader = reader or repository.engine
        self._max_backoff_s = max_backoff_s
        self._safety_resync_s = safety_resync_s
        self._wake_interval_s = wake_interval_s

    def _interrupt(self) -> None:
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._reader is not self._repository.engine:
            self._reader.dispose()

    def _stopped(self, _state: RetryCallState) -> bool:
        return self._stopping.is_set()

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _run(self) -> None:
        self._set_status(FeedStatus.CONNECTING)
        while not self._stopping.is_set():
            # A fresh Retrying per live session: the backoff grows while the server stays
            # unreachable and starts small again after a session that did go live.
            retrying = Retrying(
                # Full jitter: twenty clients that lost the server together do not return
                # in lockstep.
                wait=wait_random_exponential(multiplier=0.05, max=self._max_backoff_s),
                retry=retry_if_exception_type(_TRANSIENT),
                stop=self._stopped,
                sleep=self._pause,
                before_sleep=self._before_retry,
            )
            try:
                retrying(self._session)
            except RetryError:
                return  # stop() was called while the server was away
            except _ConnectionLost as lost:
                self._lost(lost.__cause__)
            except Exception:
                # A bug must not silently end live updates: log it, start over from a resync.
                self.reconnect_count += 1
                log.exception("task change listener failed; restarting it")
                self._set_status(FeedStatus.RECONNECTING)
                self._pause(1.0)

    def _session(self) -> None:
        """Connect, LISTEN, resync, then deliver notifications until stopped or cut off."""
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        try:
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                application_name=LISTENER_APPLICATION_NAME,
                **PG_KEEPALIVES,
            )
            conn.execute(f'LISTEN "{NOTIFY_CHANNEL}"')
            self._conn = self._reader.connect().execution_options(isolation_level="AUTOCOMMIT")
            # LISTEN is already active, so nothing committed from here on can slip by.
            self._sync(None, ChangeSource.RESYNC)
            self._set_status(FeedStatus.LIVE)
            try:
                self._listen(conn)
            except _TRANSIENT as exc:
                raise _ConnectionLost from exc
        finally:
            if conn is not None:
                conn.close()
            self._close_reader()

    def _before_retry(self, state: RetryCallState) -> None:
        self._lost(state.outcome.exception() if state.outcome else None)

    def _lost(self, exc: BaseException | None) -> None:
        if self._stopping.is_set():
            return
        self.reconnect_count += 1
        log.warning("task change listener lost its connection (%s); reconnecting", exc)
        self._set_status(FeedStatus.RECONNECTING)

    def _close_reader(self) -> None:
        reader, self._conn = self._conn, None
        if reader is None:
            return
        try:
            reader.invalidate()  # after a failure the connection is suspect; never pool it
            reader.close()
        except SQLAlchemyError:
            pass  # already broken; the next attempt opens a fresh one

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        last_resync = time.monotonic()
        while not self._stopping.is_set():
            pending: dict[str, int] = {}
            unreadable = False
            # Block for the first notification, then drain whatever else has queued up, so a
            # burst of commits costs one re-read rather than one per notification.
            first = list(conn.notifies(timeout=self._wake_interval_s, stop_after=1))
            rest = list(conn.notifies(timeout=0.0)) if first else []
            for notify in first + rest:
                try:
                    payload = json.loads(notify.payload)
                    task_id, version = str(payload["id"]), int(payload["v"])
                except (ValueError, KeyError, TypeError):
                    # Another writer (an older desk, a hand-made NOTIFY): a full re-read
                    # catches whatever it meant.
                    log.warning("unreadable task change notification %.80r; re-reading all",
                                notify.payload)
                    unreadable = True
                    continue
                pending[task_id] = max(version, pending.get(task_id, 0))
            if unreadable:
                self._sync(None, ChangeSource.RESYNC)
                last_resync = time.monotonic()
            fresh = [task_id for task_id, v in pending.items() if v > self.known_version(task_id)]
            if fresh:
                self._sync(fresh, ChangeSource.NOTIFY)
            if time.monotonic() - last_resync > self._safety_resync_s:
                # Belt and braces against anything a notification cannot carry.
                self._sync(None, ChangeSource.RESYNC)
                last_resync = time.monotonic()
