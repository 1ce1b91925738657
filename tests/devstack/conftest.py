"""The `devstack` fixture: a running dev stack, started on request and stopped if we started it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import stack


def choose(wanted: str | None, running: bool) -> str:
    """What the fixture does: "reuse" a running stack, "start" one, or a reason to skip.

    DEVSTACK=0 skips every real-Druid test, whatever is running; DEVSTACK=1 reuses a running
    stack or starts one (stopping it afterwards); unset, a running stack is used.
    """
    if wanted == "0":
        return "DEVSTACK=0: the real-Druid tests are skipped"
    if running:
        return "reuse"
    if wanted == "1":
        return "start"
    return "needs the dev stack: run `scripts/devstack up` or set DEVSTACK=1"


@pytest.fixture(scope="session")
def devstack() -> Iterator[stack.DevStack]:
    """A running dev stack, as `choose` decides. DEVSTACK_KEEP=1 leaves a stack this session
    started running, for the next run."""
    wanted = os.environ.get("DEVSTACK")
    # With DEVSTACK=0 the stack is not even asked about: its status check can be slow under load.
    decided = choose(wanted, wanted != "0" and stack.is_up())
    if decided == "reuse":
        yield stack.DevStack(env=stack.up())
        return
    if decided != "start":
        pytest.skip(decided)
    env = stack.up()
    try:
        yield stack.DevStack(env=env)
    finally:
        if os.environ.get("DEVSTACK_KEEP") != "1":
            stack.down()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    # A failing Druid test is only diagnosable with the services' own words.
    if report.failed and call.when == "call" and "devstack" in getattr(item, "fixturenames", ()):
        report.sections.append(("dev stack logs", stack.log_tails()))
    return report
