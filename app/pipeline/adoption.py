"""Tasks whose owner is gone: how long an owner's lease lasts, and taking over a re-added file."""

from __future__ import annotations

from datetime import timedelta

from app.domain.tasks import ADOPTABLE_STATES, IngestMode, Task, TaskState
from app.services.store import LostRaceError, TaskStore

# Desks beat every 5 s: six missed beats, so a desk busy for a moment is not taken for gone.
# A clean exit signs off, which makes its tasks adoptable at once.
OWNER_LEASE = timedelta(seconds=30)


def take_over_readded(
    store: TaskStore,
    client_id: str,
    *,
    datasource: str,
    sha256: str,
    mode: IngestMode,
    sheet: str | None,
    can_upload: bool = True,
    lease: timedelta = OWNER_LEASE,
) -> Task | None:
    """The unfinished task a desk that is gone made for this very file and choice, now this
    client's to go on with; None when there is none (a new task is then in order).

    Only the steps that need the file (queued to uploading): the upload resumes from the
    multipart upload id the task row keeps. Later steps are adopted by the follower without
    the file. A task whose owner is alive is never taken, and a lost race is skipped. A desk
    without S3 and Druid (`can_upload` False) leaves an interrupted upload alone.
    """
    for task in store.tasks.list_tasks(datasource=datasource):
        if (
            task.sha256 != sha256
            or task.mode is not mode
            or task.sheet != sheet
            or task.state.is_terminal
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
