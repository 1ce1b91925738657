"""Units of work: one transaction each, repeated with backoff when the database fault was transient.

A unit is repeated whole (a new connection, a new transaction, every statement again), never
resumed half-way, so a repeat can only see what the failed attempt committed, or nothing.
PostgreSQL rolls back a transaction whose connection dies, so the one case to reason about is
the unacknowledged commit: the attempt committed, then the connection dropped before the
answer arrived. Each write handles that case where it is written (see `retried` there):

- compare-and-set moves re-read the row: the repeat's `WHERE version = v` no longer matches,
  and the history event at v + 1 tells whether it was our own move that landed;
- inserts fix their key before the first attempt, so a repeat collides with its own row;
- progress patches set absolute values, so applying one twice leaves the same row.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from app.services.store.diagnose import is_transient, unavailable

log = logging.getLogger(__name__)

# Long enough for a PostgreSQL restart (or a fail-over) to finish; a unit that waits longer
# fails with StoreUnavailableError and the step that ran it fails with that message.
TRANSIENT_DEADLINE_S = 30.0

T = TypeVar("T")
P = ParamSpec("P")


class _HasEngine(Protocol):
    @property
    def engine(self) -> Engine: ...


S = TypeVar("S", bound=_HasEngine)


def _log_retry(state: RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome else None
    log.info("task database: transient fault (%s); repeating the transaction (attempt %d)",
             type(getattr(failure, "orig", failure)).__name__, state.attempt_number + 1)


def run_unit(
    engine: Engine, work: Callable[[bool], T], *, deadline_s: float | None = None
) -> T:
    """`work(retried)` repeated while it fails transiently (see diagnose.is_transient), with
    jittered exponential backoff up to `deadline_s`; `retried` is True from the second attempt
    on. A connection-level fault that outlasts the deadline (or is not transient, like a
    refused password) becomes StoreUnavailableError; other errors pass through unchanged."""
    attempts = 0

    def once() -> T:
        nonlocal attempts
        attempts += 1
        return work(attempts > 1)

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_random_exponential(multiplier=0.05, max=2.0),
        stop=stop_after_delay(TRANSIENT_DEADLINE_S if deadline_s is None else deadline_s),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        return retrying(once)
    except DBAPIError as exc:
        if isinstance(exc, OperationalError) or is_transient(exc):
            raise unavailable(engine.url, exc) from exc
        raise


def unit(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """A method that is one whole unit of work (a read, or a write that is safe to repeat)."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_unit(self.engine, lambda _retried: method(self, *args, **kwargs))

    return wrapper
