"""The one polling helper: wait on a condition with a deadline, never on the clock alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Short enough to notice a change at once, long enough not to hog the 2-core test machine.
POLL_INTERVAL_S = 0.02


class WaitTimedOut(AssertionError):
    """The condition never held before the deadline (an AssertionError, so pytest shows it)."""


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout: float = 10.0,
    *,
    interval: float = POLL_INTERVAL_S,
    describe: Callable[[], object] | None = None,
) -> T:
    """Poll `condition` until it returns something truthy, and return that value.

    Raises WaitTimedOut naming `what` (and `describe()`, the state worth seeing) when the
    deadline passes first. The deadline bounds a wait; it is never the thing under test.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; last seen: {describe()}" if describe is not None else ""
            raise WaitTimedOut(f"timed out after {timeout:g} s waiting until {what}{seen}")
        time.sleep(interval)


def eventually(
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = POLL_INTERVAL_S
) -> bool:
    """True once `condition` holds, False if it never did by the deadline (for asserts that
    build their own message, like `assert eventually(...), explain()`)."""
    try:
        wait_until(condition, "the condition", timeout, interval=interval)
    except WaitTimedOut:
        return False
    return True
