"""Retry one S3 call with jittered backoff (tenacity), then raise a specific StorageError."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_random_exponential

from app.services.storage.errors import is_connect_failure, is_transient, translate

T = TypeVar("T")
log = logging.getLogger("app.services.storage")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Full jitter (AWS's advice) so parallel parts do not retry in lockstep."""

    attempts: int = 6
    initial_backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    # A refused or timed-out connect is usually a wrong URL or no network: fail sooner.
    connect_attempts: int = 3

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.connect_attempts < 1:
            raise ValueError("attempts must be at least 1")


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    action: str,
    bucket: str,
    endpoint: str,
    retry_if: Callable[[BaseException], bool] = is_transient,
) -> T:
    """Run `fn`, retrying transient failures; any final failure becomes a StorageError."""

    def should_retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if exc is None or not retry_if(exc):
            return False
        limit = policy.connect_attempts if is_connect_failure(exc) else policy.attempts
        return state.attempt_number < limit

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "S3 %s failed (attempt %d): %r; retrying in %.2fs",
            action,
            state.attempt_number,
            exc,
            wait,
        )

    retrying = Retrying(
        retry=should_retry,
        stop=stop_after_attempt(max(policy.attempts, policy.connect_attempts)),
        wait=wait_random_exponential(multiplier=policy.initial_backoff_s, max=policy.max_backoff_s),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        raise translate(exc, bucket=bucket, endpoint=endpoint, action=action) from exc
