"""One client at a time polls Druid for everyone: elected with a PostgreSQL advisory lock."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

import psycopg

from app.services.store.engine import PG_KEEPALIVES

log = logging.getLogger(__name__)

LEADER_APPLICATION_NAME = "ingest-desk-leader"


def lock_key(role: str) -> int:
    """A stable signed 64-bit advisory-lock key per role name."""
    digest = hashlib.sha256(f"ingest-desk:{role}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderElection:
    """Campaign for `role` until stopped; on_elected/on_deposed run on the election thread.

    The lock belongs to a session, so when the leader's process dies its connection closes and
    PostgreSQL releases the lock at once; the next candidate's try succeeds within one
    `retry_interval_s`. A leader whose connection fails steps down before reconnecting, and
    the `check_interval_s` health probe bounds how long it could believe in a lost lock.
    """

    def __init__(
        self,
        conninfo: str,
        role: str = "druid-poller",
        *,
        on_elected: Callable[[], None] | None = None,
        on_deposed: Callable[[], None] | None = None,
        retry_interval_s: float = 1.0,
        check_interval_s: float = 1.0,
    ) -> None:
        self._conninfo = conninfo
        self.role = role
        self._key = lock_key(role)
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry_interval_s = retry_interval_s
        self._check_interval_s = check_interval_s
        self._stopping = threading.Event()
        self._leading = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def wait_until_leader(self, timeout: float) -> bool:
        return self._leading.wait(timeout)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("election already started")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"leader-election-{self.role}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            conn: psycopg.Connection[tuple[object, ...]] | None = None
            try:
                conn = psycopg.connect(
                    self._conninfo,
                    autocommit=True,
                    application_name=LEADER_APPLICATION_NAME,
                    **PG_KEEPALIVES,
                )
                self._campaign(conn)
            except psycopg.Error as exc:
                log.warning("leader election for %s lost its connection: %s", self.role, exc)
            except Exception:
                # Keep campaigning whatever happened; the finally below has given up the lead.
                log.exception("leader election for %s failed; retrying", self.role)
            finally:
                self._step_down()
                if conn is not None:
                    conn.close()
            self._stopping.wait(self._retry_interval_s)

    def _campaign(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        while not self._stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row is not None and row[0]:
                self._become_leader()
                while not self._stopping.wait(self._check_interval_s):
                    conn.execute("SELECT 1")  # raises once the session (and the lock) is gone
                conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
                return
            self._stopping.wait(self._retry_interval_s)

    def _become_leader(self) -> None:
        self._leading.set()
        log.info("elected leader for %s", self.role)
        self._notify(self._on_elected)

    def _step_down(self) -> None:
        if not self._leading.is_set():
            return
        self._leading.clear()
        log.info("no longer leader for %s", self.role)
        self._notify(self._on_deposed)

    def _notify(self, callback: Callable[[], None] | None) -> None:
        if callback is None:
            return
        try:
            callback()
        except Exception:
            # A failing poller start/stop must not kill the election thread (or keep the lock
            # held by a client that no longer campaigns).
            log.exception("leader callback for %s failed", self.role)


class SoloLeaderElection(LeaderElection):
    """Embedded SQLite mode has one user on one machine: that client always leads."""

    def __init__(
        self,
        role: str = "druid-poller",
        *,
        on_elected: Callable[[], None] | None = None,
        on_deposed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__("", role, on_elected=on_elected, on_deposed=on_deposed)

    def start(self) -> None:
        self._become_leader()

    def stop(self, timeout: float = 10.0) -> None:
        self._step_down()
