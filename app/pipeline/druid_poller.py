"""One thread follows every watched Druid task with one bulk status request per interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.domain.druid import DruidTaskStatus
from app.services.druid.client import _BULK_CHUNK, DruidClient
from app.services.druid.errors import DruidError

log = logging.getLogger(__name__)

# How often a blocked waiter asks its caller whether it was cancelled.
_CANCEL_CHECK_S = 0.1
# Rounds an id stays polled with nobody waiting for it: long enough for a follow loop to look
# at the task table between two calls, short enough that a crashed caller stops costing requests.
_IDLE_ROUNDS = 2
_CLOSE_JOIN_S = 5.0


@dataclass(slots=True)
class _Followed:
    """One polled id; rounds are numbered from 1, so 0 means "never"."""

    waiters: int = 0
    status: DruidTaskStatus | None = None
    answered_round: int = 0
    failed_round: int = 0
    error: DruidError | None = None
    idle_rounds: int = 0
    dropped: bool = False


class DruidPoller:
    """Qt-free and thread-safe: callers block in `wait_for_change`, one daemon thread asks the
    Overlord for all their ids at once (`POST /druid/indexer/v1/taskStatus`) every `interval_s`.

    The thread starts with the first registration and waits, making no requests, while no id is
    followed. It does not own `client`: closing the poller leaves the client open.
    """

    def __init__(self, client: DruidClient, interval_s: float = 1.0) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s!r}")
        self._client = client
        self._interval_s = interval_s
        self._lock = threading.Lock()
        # Waiters wait for answers; the thread waits for work. Both share the one lock.
        self._answered = threading.Condition(self._lock)
        self._has_work = threading.Condition(self._lock)
        # Set by close(): ends the pause between rounds at once instead of after an interval.
        self._stop = threading.Event()
        self._followed: dict[str, _Followed] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._round = 0
        self._requests = 0
        self._last_error: DruidError | None = None

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @property
    def requests_made(self) -> int:
        """Bulk status round trips so far: one per chunk of up to the client's bulk chunk size
        (500 ids), failed ones included; the client's own retries of a transient failure
        inside one round trip are not counted."""
        with self._lock:
            return self._requests

    @property
    def last_error(self) -> str | None:
        """Why the latest bulk request failed; None once one succeeds again."""
        with self._lock:
            return str(self._last_error) if self._last_error is not None else None

    @property
    def followed(self) -> tuple[str, ...]:
        """The ids the next round will ask about (before idle ones are dropped)."""
        with self._lock:
            return tuple(self._followed)

    def wait_for_change(
        self,
        druid_task_id: str,
        last_seen: DruidTaskStatus | None,
        *,
        timeout_s: float,
        cancelled: Callable[[], bool],
    ) -> DruidTaskStatus | None:
        """The task's status from the first bulk request made after this call began.

        Every fresh answer is returned, changed or not: the follow step counts UNKNOWN answers
        and re-reads the task between answers, so it needs one per interval. `last_seen` only
        serves the log (a state change is logged at debug level).

        None when `timeout_s` passes without an answer, when `cancelled()` says so (asked at
        least every 0.1 s), when the id is forgotten or the poller closed. When every bulk
        request made during the wait failed (at least one did, and the timeout passed), the
        latest DruidError is raised instead of None, as a direct status read would have; a
        request still running at the timeout (the client retrying) gives None. An exception
        from `cancelled()` propagates.
        """
        deadline = time.monotonic() + timeout_s
        registered = self._register(druid_task_id)
        if registered is None:
            return None
        entry, begun = registered
        try:
            while True:
                if cancelled():
                    return None
                with self._lock:
                    if entry.answered_round > begun:
                        status = entry.status
                        break
                    if self._closed or entry.dropped:
                        return None
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        # A success since `begun` would have answered us, so a failure since
                        # then means every request of this wait failed.
                        if entry.failed_round > begun and entry.error is not None:
                            raise entry.error
                        return None
                    self._answered.wait(min(remaining, _CANCEL_CHECK_S))
        finally:
            with self._lock:
                entry.waiters -= 1
        if status is not None and last_seen is not None and status.state != last_seen.state:
            log.debug("Druid task %s: %s -> %s", druid_task_id, last_seen.state, status.state)
        return status

    def forget(self, druid_task_id: str) -> None:
        """Stop asking about this id; its waiters, if any, return None."""
        with self._lock:
            entry = self._followed.pop(druid_task_id, None)
            if entry is not None:
                entry.dropped = True
                self._answered.notify_all()

    def close(self) -> None:
        """Stop the thread and wake every waiter (they return None). Idempotent."""
        with self._lock:
            self._closed = True
            for entry in self._followed.values():
                entry.dropped = True
            self._followed.clear()
            self._answered.notify_all()
            self._has_work.notify_all()
            thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            # A round in flight ends with its HTTP request; the thread is a daemon, so a hung
            # request cannot keep the process alive, and close() does not wait it out.
            thread.join(_CLOSE_JOIN_S)

    # ---- the thread --------------------------------------------------------------------------

    def _register(self, druid_task_id: str) -> tuple[_Followed, int] | None:
        with self._lock:
            if self._closed:
                return None
            entry = self._followed.get(druid_task_id)
            if entry is None:
                entry = self._followed[druid_task_id] = _Followed()
                self._has_work.notify_all()
            entry.waiters += 1
            entry.idle_rounds = 0
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="druid-status-poller", daemon=True
                )
                self._thread.start()
            # Only a round that takes its snapshot of ids after this point answers the caller.
            return entry, self._round

    def _run(self) -> None:
        last_start: float | None = None
        while True:
            with self._lock:
                while not self._closed and not self._followed:
                    self._has_work.wait()
                if self._closed:
                    return
            if last_start is not None:
                # Paced by the start of rounds, so a slow answer does not add to the interval.
                pause = last_start + self._interval_s - time.monotonic()
                if pause > 0 and self._stop.wait(pause):
                    return
            round_ids = self._begin_round()
            if round_ids is None:
                return
            round_no, ids = round_ids
            if not ids:
                continue
            last_start = time.monotonic()
            for start in range(0, len(ids), _BULK_CHUNK):
                self._ask(round_no, ids[start : start + _BULK_CHUNK])

    def _begin_round(self) -> tuple[int, list[str]] | None:
        with self._lock:
            if self._closed:
                return None
            for task_id, entry in list(self._followed.items()):
                if entry.waiters:
                    entry.idle_rounds = 0
                    continue
                entry.idle_rounds += 1
                if entry.idle_rounds > _IDLE_ROUNDS:
                    # Nobody asked for a while: a caller forgot to, or crashed before it could.
                    del self._followed[task_id]
                    entry.dropped = True
            self._round += 1
            return self._round, list(self._followed)

    def _ask(self, round_no: int, chunk: Sequence[str]) -> None:
        """One bulk request (the chunk fits the client's own chunk, so it is one round trip)."""
        error: DruidError | None = None
        statuses: tuple[DruidTaskStatus, ...] = ()
        try:
            statuses = self._client.bulk_status(chunk)
        except DruidError as exc:
            error = exc
        except Exception as exc:  # the thread must outlive a surprise answer
            if self._stop.is_set():
                return  # the client was closed under a request of the closing poller
            log.exception("Druid bulk status request failed unexpectedly")
            error = DruidError(f"Druid status request failed: {exc!r}")
            error.__cause__ = exc
        with self._lock:
            self._requests += 1
            if error is not None:
                self._note_failure(round_no, chunk, error)
                return
            if self._last_error is not None:
                log.info("Druid answers bulk status requests again")
            self._last_error = None
            for status in statuses:
                entry = self._followed.get(status.id)
                if entry is not None:
                    entry.status = status
                    entry.answered_round = round_no
            self._answered.notify_all()

    def _note_failure(self, round_no: int, chunk: Sequence[str], error: DruidError) -> None:
        # Waiters are not woken: no status is better than an invented one. They learn of the
        # failure only if it lasts until their timeout.
        if self._last_error is None:
            log.warning(
                "Druid bulk status request failed; retrying every %g s: %s",
                self._interval_s,
                error,
            )
        else:
            log.debug("Druid bulk status request failed again: %s", error)
        self._last_error = error
        for task_id in chunk:
            entry = self._followed.get(task_id)
            if entry is not None:
                entry.failed_round = round_no
                entry.error = error
