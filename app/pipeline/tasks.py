"""Making and finding tasks: one way for the window and the command line to start on a file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.domain.store import NewTask
from app.domain.tasks import ADOPTABLE_STATES, Task, TaskState
from app.pipeline.choices import IngestChoices
from app.services.store import LostRaceError, TaskStore

# Desks beat every 5 s: six missed beats, so a desk busy for a moment is not taken for gone.
# A clean exit signs off, which makes its tasks adoptable at once.
OWNER_LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The task a file became; `resumed` when it is an earlier unfinished task of that file."""

    task: Task
    resumed: bool


def find_unfinished(
    store: TaskStore,
    client_id: str,
    choices: IngestChoices,
    sha256: str,
    *,
    can_upload: bool = True,
    lease: timedelta = OWNER_LEASE,
) -> Task | None:
    """The unfinished task for this very content and choice that this client can go on with.

    This client's own (an earlier run killed, or stopped after submit without --wait), or one
    whose desk is gone, taken over here: only the steps that need the file (queued to
    uploading; later steps are adopted by the follower without it). A task whose owner is
    alive is never taken, and a lost race is skipped. Without S3 and Druid (`can_upload`
    False) an interrupted upload is left alone.
    """
    candidates = [
        task for task in store.tasks.list_tasks(datasource=choices.datasource)
        if task.sha256 == sha256 and task.mode is choices.mode and not task.state.is_terminal
    ]
    for task in candidates:
        if task.source_client == client_id and task.sheet == choices.sheet:
            return task
    for task in candidates:
        if (
            task.sheet != choices.sheet
            or task.state in ADOPTABLE_STATES
            or (task.state is TaskState.UPLOADING and not can_upload)
        ):
            continue
        try:
            return store.tasks.take_over_source(
                task.id, expected_version=task.version, by_client=client_id, lease=lease
            )
        except LostRaceError:
            continue  # its owner is alive, or another desk took it over first
    return None


def create_task(
    store: TaskStore, client_id: str, path: Path, choices: IngestChoices, sha256: str
) -> Task:
    draft = NewTask(
        file_name=path.name,
        file_size=path.stat().st_size,
        sha256=sha256,
        source_client=client_id,
        datasource=choices.datasource,
        mode=choices.mode,
        sheet=choices.sheet,
    )
    return store.tasks.create(draft, by_client=client_id)


def enqueue(
    store: TaskStore,
    client_id: str,
    path: Path,
    choices: IngestChoices,
    sha256: str,
    *,
    can_upload: bool,
) -> Enqueued:
    """The earlier unfinished task of this file and choice, else a new queued task."""
    found = find_unfinished(store, client_id, choices, sha256, can_upload=can_upload)
    if found is not None:
        return Enqueued(found, resumed=True)
    return Enqueued(create_task(store, client_id, path, choices, sha256), resumed=False)


def find_task(store: TaskStore, prefix: str) -> Task:
    """A task by its id or a unique prefix of it (the CLI shows eight characters)."""
    exact = store.tasks.find(prefix)
    if exact is not None:
        return exact
    matches = [t for t in store.tasks.list_tasks() if t.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"No task id starts with {prefix!r}.")
    raise LookupError(f"{len(matches)} tasks start with {prefix!r}; give more characters.")
