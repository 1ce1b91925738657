"""Before a valid, staged file leaves the desk: an earlier ingestion, a changed column type."""

from __future__ import annotations

from app.domain.tasks import IngestMode, Task, TaskState
from app.domain.validation import StagingResult, ValidationIssue, ValidationReport
from app.pipeline.choices import IngestOptions
from app.pipeline.remote_connections import Connections
from app.pipeline.staged import pause_at
from app.pipeline.steps.remote_errors import translated
from app.services.druid import detect_drift
from app.services.druid.nulls import legacy_null_warnings, sql_compatible_nulls
from app.services.store import TaskStore

# Past the upload: the content is on its way into Druid (a second task would add it twice).
_IN_DRUID = frozenset({TaskState.SUBMITTING, TaskState.INGESTING, TaskState.VERIFYING})


def find_duplicate(
    store: TaskStore,
    connections: Connections,
    datasource: str,
    sha256: str,
    task_id: str | None = None,
) -> str | None:
    """A sentence when this content already went (or is going) into `datasource`, else None."""
    for other in store.tasks.list_tasks(states=_IN_DRUID, datasource=datasource):
        if other.sha256 == sha256 and other.id != task_id:
            return (
                f"This file is being ingested into {datasource} right now by task "
                f"{other.id[:8]} ({other.file_name}, {other.state})."
            )
    for other in store.tasks.list_tasks(states={TaskState.SUCCEEDED}, datasource=datasource):
        if other.sha256 == sha256 and other.id != task_id:
            when = other.finished_at.strftime("%Y-%m-%d %H:%M") if other.finished_at else "?"
            return (
                f"This file was already ingested into {datasource} by task {other.id[:8]} "
                f"({other.file_name}, {when} UTC)."
            )
    previous = connections.index.find(datasource, sha256)
    if previous is None or (previous.task_id is not None and previous.task_id == task_id):
        return None
    known = store.tasks.find(previous.task_id) if previous.task_id else None
    if known is not None:
        return None  # the store knows that upload's task, and it did not succeed
    return (
        f"This file was already uploaded for {datasource} ({previous.uri or 'details lost'}) "
        "by a desk using another task database."
    )


class UploadGate:
    """Asked once a valid file is staged: None lets it go on, a sentence holds it for review.

    The duplicate question is asked before the file is read (an unreachable S3 then fails the
    task with S3's own words instead of after a long validation); drift needs the staged types.
    """

    def __init__(
        self,
        store: TaskStore,
        connections: Connections,
        task: Task,
        options: IngestOptions,
    ) -> None:
        self._druid = connections.druid
        self._task = task
        self._options = options
        self._duplicate = None
        with translated():
            if not options.allow_duplicate:
                self._duplicate = find_duplicate(
                    store, connections, task.datasource, task.sha256, task.id
                )
            self._legacy_nulls = not sql_compatible_nulls(self._druid)

    def warnings(self, report: ValidationReport) -> list[ValidationIssue]:
        """What Druid will do to this file that the user should know before it is submitted."""
        return legacy_null_warnings(report.columns) if self._legacy_nulls else []

    def __call__(self, staging: StagingResult) -> str | None:
        """Druid unreachable while comparing columns fails the task with Druid's words."""
        task, options = self._task, self._options
        if self._duplicate:
            return f"{self._duplicate} Confirm to ingest it again."
        if task.mode is IngestMode.APPEND and not options.allow_drift:
            with translated():
                drift = detect_drift(self._druid, task.datasource, staging)
            if drift.type_changed:
                changes = "; ".join(
                    f"{c.column} is {c.existing} in Druid but {c.incoming} in this file"
                    for c in drift.type_changed
                )
                return f"Column types changed: {changes}. Confirm to append anyway."
        pause_at("validating")
        return None
