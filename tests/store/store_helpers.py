"""Shared helpers for the store tests: task drafts, a recording subscriber, and DB truth."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select

from app.domain.store import ChangeSource, NewTask, TaskChange
from app.domain.tasks import IngestMode
from app.services.store import ChangeFeed, TaskStore
from app.services.store.models import TASK_EVENTS, TASKS


def draft(client: str, n: int = 0) -> NewTask:
    return NewTask(
        file_name=f"file-{n}.csv",
        file_size=100 + n,
        sha256=uuid.uuid4().hex * 2,
        source_client=client,
        datasource="sales",
        mode=IngestMode.APPEND,
    )


class Recorder:
    """Subscriber that records what it was told and checks versions only ever move forward."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: dict[tuple[str, int], tuple[str | None, str]] = {}
        self.duplicate_events = 0
        self.backwards = 0
        self.latest: dict[str, int] = {}
        self.by_source: dict[ChangeSource, int] = defaultdict(int)
        self.event_source: dict[tuple[str, int], ChangeSource] = {}
        self.calls = 0

    def __call__(self, change: TaskChange) -> None:
        with self.lock:
            self.calls += 1
            self.by_source[change.source] += 1
            task = change.task
            if task.version <= self.latest.get(task.id, 0):
                self.backwards += 1
            self.latest[task.id] = task.version
            for event in change.events:
                key = (event.task_id, event.version)
                if key in self.events:
                    self.duplicate_events += 1
                self.event_source[key] = change.source
                self.events[key] = (
                    event.from_state.value if event.from_state else None,
                    event.to_state.value,
                )


def db_events(store: TaskStore) -> dict[tuple[str, int], tuple[str | None, str]]:
    c = TASK_EVENTS.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.task_id, c.version, c.from_state, c.to_state))
        return {(r.task_id, r.version): (r.from_state, r.to_state) for r in rows}


def db_versions(store: TaskStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {r.id: r.version for r in conn.execute(select(TASKS.c.id, TASKS.c.version))}


def wait_until_converged(
    feed: ChangeFeed, expected: dict[str, int], timeout: float = 30.0
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if feed.known_versions() == expected:
            return True
        time.sleep(0.05)
    return feed.known_versions() == expected


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
