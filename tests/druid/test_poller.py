"""The shared Druid poller against the fake Overlord: one bulk request a round serves every
waiter, fresh answers only, cancel and close wake waiters, an unreachable Overlord invents
nothing, an idle poller asks nothing."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from app.domain.druid import DruidTaskState, DruidTaskStatus
from app.pipeline.druid_poller import DruidPoller
from app.services.druid import DruidError, DruidUnavailableError
from tests.support.waiting import wait_until

from .fake import FakeDruid

pytestmark = pytest.mark.timeout(60)

BULK = "/druid/indexer/v1/taskStatus"
INTERVAL_S = 0.02


class Gate:
    """Wraps the fake's handler: records each bulk request's ids, lets through only as many
    bulk requests as allowed (all when open), and, when tagging, stamps every task's errorMsg
    with the request's number, so an answer tells which request produced it."""

    def __init__(self, fake: FakeDruid, *, budget: int | None = None, tag: bool = False) -> None:
        self.fake = fake
        self.tag = tag
        self.bodies: list[list[str]] = []
        self._budget = budget  # None: open
        self._changed = threading.Condition()
        self._inner = fake.handle
        fake.handle = self.handle

    def allow(self, requests: int) -> None:
        with self._changed:
            self._budget = (self._budget or 0) + requests
            self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._budget = None
            self._changed.notify_all()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != BULK:
            return self._inner(request)
        with self._changed:
            if not self._changed.wait_for(lambda: self._budget is None or self._budget > 0, 20):
                raise AssertionError("the gate held a request for 20 s")
            if self._budget is not None:
                self._budget -= 1
            self.bodies.append(json.loads(request.content))
            if self.tag:
                for task in self.fake.tasks.values():
                    task["errorMsg"] = f"request {len(self.bodies)}"
            return self._inner(request)

    @property
    def count(self) -> int:
        with self._changed:
            return len(self.bodies)


def request_number(status: DruidTaskStatus | None) -> int:
    assert status is not None and status.error_message is not None
    return int(status.error_message.removeprefix("request "))


def never() -> bool:
    return False


@pytest.fixture
def make_poller(fake: FakeDruid) -> Iterator[Callable[[], DruidPoller]]:
    made: list[DruidPoller] = []

    def make() -> DruidPoller:
        poller = DruidPoller(fake.client(), interval_s=INTERVAL_S)
        made.append(poller)
        return poller

    yield make
    for poller in made:
        poller.close()


def run_all(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()


def test_one_bulk_request_per_round_serves_fifty_waiters(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    ids = [f"index_parallel_sales_{n:02d}" for n in range(50)]
    for task_id in ids:
        fake.add_task(task_id)
    gate = Gate(fake, budget=0, tag=True)
    poller = make_poller()
    answers: dict[str, list[DruidTaskStatus | None]] = {task_id: [] for task_id in ids}
    first_round_done = threading.Barrier(len(ids) + 1)

    def follow(task_id: str) -> None:
        seen: DruidTaskStatus | None = None
        for call in range(4):
            seen = poller.wait_for_change(task_id, seen, timeout_s=20, cancelled=never)
            answers[task_id].append(seen)
            if call == 0:
                first_round_done.wait(20)

    threads = run_all([lambda t=task_id: follow(t) for task_id in ids])
    # The first request left with whatever was registered then and is held at the gate; once
    # all 50 wait, the next request carries every id.
    wait_until(lambda: len(poller.followed) == len(ids), what="all 50 ids are followed")
    # Two requests are enough for all 50 (a third would be held, and the barrier break).
    gate.allow(2)
    first_round_done.wait(20)
    assert gate.count <= 2
    gate.open()
    join_all(threads)
    poller.close()

    for task_id in ids:
        numbers = [request_number(status) for status in answers[task_id]]
        assert numbers == sorted(set(numbers)), "every call got an answer from a newer request"
        assert all(s is not None and s.state is DruidTaskState.RUNNING for s in answers[task_id])
    # One request per round, whatever the number of waiters: the second carried every id.
    assert sorted(gate.bodies[1]) == sorted(ids)
    assert all(len(set(body)) == len(body) and set(body) <= set(ids) for body in gate.bodies)
    assert poller.requests_made == gate.count == fake.paths().count(f"POST {BULK}")
    assert not [p for p in fake.paths() if p.startswith("GET")], "no per-task status reads"


def test_each_waiter_sees_its_own_task_change(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    fake.add_task("b")
    poller = make_poller()
    a_running = threading.Event()
    states: dict[str, list[DruidTaskState]] = {"a": [], "b": [], "gone": []}
    finals: dict[str, DruidTaskStatus | None] = {}

    def follow(task_id: str, rounds: int | None) -> None:
        seen: DruidTaskStatus | None = None
        calls = 0
        while True:
            seen = poller.wait_for_change(task_id, seen, timeout_s=20, cancelled=never)
            assert seen is not None
            calls += 1
            states[task_id].append(seen.state)
            if task_id == "a":
                a_running.set()
            if seen.state.is_terminal or calls == rounds:
                finals[task_id] = seen
                return

    threads = run_all([lambda: follow("a", None), lambda: follow("b", None)])
    threads += run_all([lambda: follow("gone", 3)])
    assert a_running.wait(20)
    fake.tasks["a"]["statusCode"] = "SUCCESS"
    wait_until(lambda: "a" in finals, what="a's waiter saw SUCCESS")
    fake.tasks["b"].update(statusCode="FAILED", errorMsg="Shutdown request from user")
    join_all(threads)

    assert states["a"][0] is DruidTaskState.RUNNING
    assert states["a"][-1] is DruidTaskState.SUCCESS
    final_b = finals["b"]
    assert final_b is not None and final_b.state is DruidTaskState.FAILED
    assert final_b.error_message == "Shutdown request from user"
    assert states["gone"] == [DruidTaskState.UNKNOWN] * 3, "the Overlord's real answer, kept"


def test_cancel_returns_promptly_without_an_answer(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    gate = Gate(fake, budget=0)
    poller = make_poller()
    stop = threading.Event()
    result: list[DruidTaskStatus | None] = []
    thread = threading.Thread(
        target=lambda: result.append(
            poller.wait_for_change("a", None, timeout_s=60, cancelled=stop.is_set)
        ),
    )
    thread.start()
    wait_until(lambda: poller.followed == ("a",), what="a is followed")
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    assert result == [None]
    gate.open()


def test_an_exception_from_cancelled_propagates_and_unregisters(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    poller = make_poller()

    def broken() -> bool:
        raise RuntimeError("the task table is gone")

    with pytest.raises(RuntimeError, match="task table"):
        poller.wait_for_change("a", None, timeout_s=20, cancelled=broken)
    # Nobody waits for it any more, so it is dropped after a couple of rounds.
    wait_until(lambda: poller.followed == (), what="the abandoned id is dropped")


def test_close_wakes_every_waiter(fake: FakeDruid, make_poller: Callable[[], DruidPoller]) -> None:
    ids = ["a", "b", "c"]
    for task_id in ids:
        fake.add_task(task_id)
    gate = Gate(fake, budget=0)
    poller = make_poller()
    results: dict[str, DruidTaskStatus | None] = {}

    def wait(task_id: str) -> None:
        results[task_id] = poller.wait_for_change(task_id, None, timeout_s=60, cancelled=never)

    waiters = run_all([lambda t=task_id: wait(t) for task_id in ids])
    wait_until(lambda: len(poller.followed) == 3, what="all three are followed")
    # close() joins the poller's thread, which the gate holds inside its first request.
    closing = run_all([poller.close])
    join_all(waiters)
    assert results == {"a": None, "b": None, "c": None}
    gate.open()
    join_all(closing)
    assert poller.wait_for_change("a", None, timeout_s=60, cancelled=never) is None
    assert gate.count <= 1, "at most the request under way when it closed"


def test_unreachable_overlord_delivers_no_false_status(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller], caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_task("a", "SUCCESS")
    # Two whole rounds fail: the fake's client tries each request three times.
    fake.inject(BULK, *[httpx.ConnectError("connection refused") for _ in range(6)])
    gate = Gate(fake)
    poller = make_poller()
    with caplog.at_level(logging.INFO, logger="app.pipeline.druid_poller"):
        status = poller.wait_for_change("a", None, timeout_s=20, cancelled=never)
    assert status is not None and status.state is DruidTaskState.SUCCESS
    assert gate.count >= 7, "the answer came only after the failed rounds"
    assert poller.requests_made >= 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "one warning for the outage, not one per round"
    assert poller.last_error is None


def test_lasting_failure_raises_the_druid_error_at_the_timeout(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    fake.inject(BULK, *[httpx.ConnectError("connection refused") for _ in range(100_000)])
    poller = make_poller()
    with pytest.raises(DruidUnavailableError, match="could not connect"):
        poller.wait_for_change("a", None, timeout_s=1.0, cancelled=never)
    assert poller.last_error is not None and "could not connect" in poller.last_error
    assert issubclass(DruidUnavailableError, DruidError)


def test_idle_poller_makes_no_requests(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    fake.add_task("b")
    gate = Gate(fake)
    poller = make_poller()
    # Nothing registered: the poller has not even started its thread, so it can ask nothing.
    assert poller._thread is None
    assert gate.count == 0 and poller.requests_made == 0

    # A caller that forgets its id explicitly...
    assert poller.wait_for_change("a", None, timeout_s=20, cancelled=never) is not None
    poller.forget("a")
    assert poller.followed == ()
    after_forget = gate.count
    # With nothing left to follow the thread parks until an id is registered: from then on
    # it cannot ask anything.
    wait_until(lambda: _parked(poller), what="the poller parked with nothing to follow")
    parked_at = gate.count
    assert parked_at <= after_forget + 1, "at most the round already under way"

    # ...and one that just stops asking: its id is dropped after a couple of idle rounds.
    assert poller.wait_for_change("b", None, timeout_s=20, cancelled=never) is not None
    assert gate.count > parked_at  # registering woke it
    wait_until(lambda: poller.followed == (), what="the idle id is dropped")
    wait_until(lambda: _parked(poller), what="the poller parked again")
    after_drop = gate.count
    assert _parked(poller) and poller.requests_made == after_drop


def _parked(poller: DruidPoller) -> bool:
    """The poller thread is blocked waiting for work (a thread waiting on the condition is in
    its waiter list until notified), so no round can start before an id is registered."""
    with poller._lock:
        return bool(poller._has_work._waiters)  # type: ignore[attr-defined]


def test_forget_wakes_that_ids_waiters(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    fake.add_task("a")
    gate = Gate(fake, budget=0)
    poller = make_poller()
    result: list[DruidTaskStatus | None] = []
    thread = threading.Thread(
        target=lambda: result.append(
            poller.wait_for_change("a", None, timeout_s=60, cancelled=never)
        ),
    )
    thread.start()
    wait_until(lambda: poller.followed == ("a",), what="a is followed")
    poller.forget("a")
    thread.join(20)
    assert result == [None]
    gate.open()


def test_more_ids_than_a_chunk_take_one_request_per_chunk(
    fake: FakeDruid, make_poller: Callable[[], DruidPoller]
) -> None:
    ids = [f"t{n:04d}" for n in range(1_200)]
    for task_id in ids:
        fake.add_task(task_id)
    gate = Gate(fake, budget=0)
    poller = make_poller()
    for task_id in ids:
        # A zero timeout registers the id and returns at once; it stays polled until idle.
        assert poller.wait_for_change(task_id, None, timeout_s=0, cancelled=never) is None
    gate.open()
    wait_until(lambda: poller.followed == (), what="the idle ids are dropped")
    poller.close()

    sizes = [len(body) for body in gate.bodies]
    assert max(sizes) == 500
    assert 200 in sizes, "1,200 ids went as 500 + 500 + 200"
    assert poller.requests_made == len(gate.bodies) == fake.paths().count(f"POST {BULK}")
