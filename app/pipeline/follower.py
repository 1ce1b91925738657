"""Adopting post-upload tasks whose owner is gone, on the one desk the leader lock elects."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from app.domain.tasks import Task
from app.pipeline.choices import IngestOptions
from app.pipeline.runner import Runner, RunResult
from app.pipeline.steps.base import CancelCheck
from app.pipeline.tasks import OWNER_LEASE
from app.services.store import LostRaceError, TaskNotFoundError, TaskStore

if TYPE_CHECKING:
    from app.pipeline.session import DeskSession

log = logging.getLogger(__name__)

# The design's one Druid poller: whoever holds this lock follows every task nobody else does.
LEADER_ROLE = "druid-poller"


@dataclass(frozen=True, slots=True)
class FollowTick:
    """One look at the task table: whether this desk leads, and what it adopted to run."""

    leader: bool
    adopted: tuple[Task, ...] = ()
    # Adoptable when listed, gone by the compare-and-set: another desk, or the owner, was first.
    lost: tuple[str, ...] = ()
    # Adoptable, but left for a later tick: this desk already runs as many as it should.
    deferred: int = 0


class Follower:
    """Qt-free: `tick()` adopts what needs a new owner, the caller runs each with `run()`.

    Only the leader adopts (an advisory lock on PostgreSQL; the embedded store's single user
    always leads), so two desks do not both pick up the same abandoned task. Adoption is a
    compare-and-set, so even two leaders for a moment would only lose a race, never share.
    """

    def __init__(
        self,
        store: TaskStore,
        client_id: str,
        runner: Runner,
        *,
        options: IngestOptions | None = None,
        lease: timedelta = OWNER_LEASE,
        acquire_wait_s: float = 1.0,
        retry_interval_s: float = 1.0,
    ) -> None:
        self._store = store
        self._client_id = client_id
        self._runner = runner
        self._options = options
        self._lease = lease
        self._acquire_wait_s = acquire_wait_s
        self._election = store.leader_election(LEADER_ROLE, retry_interval_s=retry_interval_s)
        self._lock = threading.Lock()
        self._campaigning = False
        self._closed = False

    @classmethod
    def for_session(cls, session: DeskSession, **kwargs: Any) -> Follower | None:
        """The follower of a desk with S3 and Druid configured; None without them."""
        if not session.runner.uploads:
            return None
        return cls(session.store, session.client.id, session.runner, **kwargs)

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def is_leader(self) -> bool:
        return self._election.is_leader

    def start(self) -> None:
        """Campaign for the leader lock (the first tick does it too); idempotent."""
        with self._lock:
            if self._campaigning or self._closed:
                return
            self._campaigning = True
            # Under the lock: a close() racing a first tick must not leave a campaign behind.
            self._election.start()

    def close(self) -> None:
        """Give up the lock for good (another desk takes over within its retry interval)."""
        with self._lock:
            self._closed = True
            if not self._campaigning:
                return
            self._campaigning = False
            self._election.stop()

    def tick(self, running: Collection[str] = (), *, limit: int | None = None) -> FollowTick:
        """Adopt up to `limit` post-upload tasks no live client owns and not in `running`.

        Blocking (database round trips, and on the first tick up to `acquire_wait_s` for the
        lock): call it off the GUI thread.
        """
        first = not self._campaigning
        self.start()
        wait_s = self._acquire_wait_s if first else 0.0
        if self._closed or not self._election.wait_until_leader(wait_s):
            return FollowTick(leader=False)
        candidates = [t for t in self._store.tasks.adoptable(self._lease) if t.id not in running]
        candidates.sort(key=lambda t: t.updated_at)  # the longest abandoned first
        room = len(candidates) if limit is None else max(0, limit)
        adopted: list[Task] = []
        lost: list[str] = []
        for task in candidates[:room]:
            try:
                adopted.append(
                    self._store.tasks.adopt(
                        task.id,
                        expected_version=task.version,
                        by_client=self._client_id,
                        lease=self._lease,
                    )
                )
            except (LostRaceError, TaskNotFoundError):
                lost.append(task.id)
        for task in adopted:
            log.info("adopted task %s in %s from %s", task.id, task.state, task.source_client)
        deferred = max(0, len(candidates) - room)
        return FollowTick(True, tuple(adopted), tuple(lost), deferred)

    def run(self, task: Task, cancelled: CancelCheck | None = None) -> RunResult:
        """Carry an adopted task to its end without the source file (blocking, minutes).

        A submit whose spec stayed on the desk that uploaded fails the task with a sentence
        saying so, unless Druid already has the task.
        """
        return self._runner.run(task, None, self._options, cancelled=cancelled)
