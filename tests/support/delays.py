"""Fault injection only: deliberate slowness in fakes and stand-in work, never synchronisation.

A test that needs to know something happened waits for it (tests/support/waiting.py); these
helpers only make a fake server, a writer or a stand-in operation take time on purpose.
"""

from __future__ import annotations

import time


def inject_delay(seconds: float) -> None:
    """Make the caller slow on purpose (a slow server reply, a paced writer, busy work)."""
    time.sleep(seconds)


def hold_forever() -> None:
    """Keep a child process alive until the test kills it (it has nothing else to do)."""
    while True:
        time.sleep(3600)
