"""Making and finding tasks: one way for the window and the command line to start on a file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.domain.store import NewTask, TaskPatch
from app.domain.tasks import ADOPTABLE_STATES, Task, TaskState
from app.pipeline.choices import IngestChoices, choices_to_dict
from app.services.store import ClientNotFoundError, LostRaceError, TaskStore

# Desks beat every 5 s: six missed beats, so a desk busy for a moment is not taken for gone.
# A clean exit signs off, which makes its tasks adoptable at once.
OWNER_LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The task a file became: `resumed` when it is an earlier unfinished task of that file,
    `retried` when it is an earlier invalid one given a new attempt (its history keeps both)."""

    task: Task
    resumed: bool
    retried: bool = False


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
    False) an interrupted upload is left alone. Failing those, a task whose upload failed
    (an outage) is queued again, to resume its open upload under the same key.
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
    return _resume_failed_upload(store, client_id, choices, sha256, lease) if can_upload else None


def _resume_failed_upload(
    store: TaskStore, client_id: str, choices: IngestChoices, sha256: str, lease: timedelta
) -> Task | None:
    """The failed task of this content and choice whose upload was left open for a resume."""
    for task in store.tasks.list_tasks(states={TaskState.FAILED}, datasource=choices.datasource):
        if (
            task.sha256 == sha256 and task.mode is choices.mode and task.sheet == choices.sheet
            and task.multipart_upload_id and task.s3_uri is None
        ):
            message = "the same file added again: resuming its upload"
            again = _queue_again(store, client_id, task, choices, message, lease)
            if again is not None:
                return again
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
        source_path=str(path.resolve()),
        choices=choices_to_dict(choices),
    )
    return store.tasks.create(draft, by_client=client_id)


def retry_invalid(
    store: TaskStore,
    client_id: str,
    path: Path,
    choices: IngestChoices,
    sha256: str,
    *,
    lease: timedelta = OWNER_LEASE,
) -> Task | None:
    """The invalid task of this very content, datasource and mode, queued for a new attempt
    with `choices` (the user may have corrected a guess); None when there is none, or when it
    belongs to a desk that is still there."""
    for task in store.tasks.list_tasks(states={TaskState.INVALID}, datasource=choices.datasource):
        if task.sha256 != sha256 or task.mode is not choices.mode:
            continue
        again = _queue_again(store, client_id, task, choices, f"{path.name} added again", lease)
        if again is not None:
            return again
    return None


def _queue_again(
    store: TaskStore,
    client_id: str,
    task: Task,
    choices: IngestChoices,
    message: str,
    lease: timedelta,
) -> Task | None:
    """`task` (ended) queued again on this client with `choices`; None when it belongs to a
    desk that is still there (the file is there too: the task stays its own), or on a lost
    race (another desk was first)."""
    if task.source_client != client_id and not desk_gone(store, task.source_client, lease):
        return None
    try:
        again = store.tasks.retry(
            task.id, expected_state=task.state, expected_version=task.version,
            by_client=client_id, message=message,
        )
        if again.source_client != client_id:
            again = store.tasks.take_over_source(
                again.id, expected_version=again.version, by_client=client_id, lease=lease
            )
        return store.tasks.update(
            again.id,
            TaskPatch(choices=choices_to_dict(choices)),
            expected_state=TaskState.QUEUED,
            owner=client_id,
        )
    except LostRaceError:
        return None


def enqueue(
    store: TaskStore,
    client_id: str,
    path: Path,
    choices: IngestChoices,
    sha256: str,
    *,
    can_upload: bool,
) -> Enqueued:
    """The earlier unfinished task of this file and choice, else its earlier invalid task for a
    new attempt, else a new queued task."""
    found = find_unfinished(store, client_id, choices, sha256, can_upload=can_upload)
    if found is not None:
        return Enqueued(found, resumed=True)
    again = retry_invalid(store, client_id, path, choices, sha256)
    if again is not None:
        return Enqueued(again, resumed=False, retried=True)
    return Enqueued(create_task(store, client_id, path, choices, sha256), resumed=False)


def desk_gone(store: TaskStore, client_id: str, lease: timedelta = OWNER_LEASE) -> bool:
    """Whether a client signed off, or its heartbeat is older than `lease`."""
    try:
        beat = store.clients.get(client_id).last_heartbeat
    except ClientNotFoundError:
        return True
    return beat is None or store.tasks.now() - beat > lease


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
