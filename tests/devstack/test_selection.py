"""DEVSTACK=0 means no real-Druid tests, even when a dev stack happens to be running."""

from __future__ import annotations

from tests.devstack.conftest import choose


def test_devstack_0_skips_although_a_stack_is_running() -> None:
    assert choose("0", running=True) == "DEVSTACK=0: the real-Druid tests are skipped"
    assert choose("0", running=False) == "DEVSTACK=0: the real-Druid tests are skipped"


def test_devstack_1_reuses_or_starts_and_unset_only_reuses() -> None:
    assert choose("1", running=True) == "reuse"
    assert choose("1", running=False) == "start"
    assert choose(None, running=True) == "reuse"
    assert choose(None, running=False).startswith("needs the dev stack")
