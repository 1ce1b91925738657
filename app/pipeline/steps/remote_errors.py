"""Steps that talk to S3 and Druid: their shared base; the services' errors as the runner's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.domain.tasks import Task
from app.pipeline.moves import StepCancelled, StepFailed, TaskMoves
from app.pipeline.remote_connections import Connections
from app.pipeline.steps.base import Job, Pool, StepOutcome
from app.services.druid import DruidError
from app.services.storage import StorageError, UploadCancelledError
from app.services.store import TaskStore


@contextmanager
def translated() -> Iterator[None]:
    """Around every call to S3 or Druid in a step (the runner imports neither library)."""
    try:
        yield
    except UploadCancelledError as exc:
        raise StepCancelled(str(exc)) from exc
    except StorageError as exc:
        raise StepFailed(exc.user_message) from exc
    except DruidError as exc:
        raise StepFailed(str(exc)) from exc


class RemoteStep:
    """What the steps that talk to S3 and Druid share: the network pool, the store, the moves,
    the connections, and every service error translated into the runner's terms."""

    name: str
    pool = Pool.NETWORK

    def __init__(self, store: TaskStore, moves: TaskMoves, connections: Connections) -> None:
        self._store = store
        self._moves = moves
        self._conn = connections

    def run(self, task: Task, job: Job) -> StepOutcome:
        with translated():
            return self._run(task, job)

    def _run(self, task: Task, job: Job) -> StepOutcome:
        raise NotImplementedError
