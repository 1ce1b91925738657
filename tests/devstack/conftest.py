"""The `devstack` fixture: a running dev stack, started on request and stopped if we started it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import stack


@pytest.fixture(scope="session")
def devstack() -> Iterator[stack.DevStack]:
    """Reuses a running stack; starts one only when DEVSTACK=1, and then stops it afterwards.

    DEVSTACK_KEEP=1 leaves a stack this session started running, for the next run.
    """
    if stack.is_up():
        yield stack.DevStack(env=stack.up())
        return
    if os.environ.get("DEVSTACK") != "1":
        pytest.skip("needs the dev stack: run `scripts/devstack up` or set DEVSTACK=1")
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
