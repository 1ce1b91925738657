"""Errors the task store raises; each names what went wrong in terms a caller can act on."""

from __future__ import annotations

from app.domain.tasks import Task, TaskState


class StoreError(Exception):
    """Base for everything the task store raises on purpose; `hint` is the next step, if any."""

    hint: str = ""


class TaskNotFoundError(StoreError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} does not exist")
        self.task_id = task_id


class IllegalTransitionError(StoreError):
    """The state machine forbids this move; nothing was written."""

    def __init__(self, task_id: str, source: TaskState, target: TaskState) -> None:
        super().__init__(f"task {task_id}: {source} -> {target} is not a legal transition")
        self.task_id = task_id
        self.source = source
        self.target = target


class LostRaceError(StoreError):
    """Someone changed the row first; nothing was written. `current` is the row as it now is."""

    def __init__(self, task_id: str, expected: str, current: Task | None) -> None:
        now = f"{current.state} v{current.version}" if current else "gone"
        super().__init__(f"task {task_id}: expected {expected} but it is now {now}")
        self.task_id = task_id
        self.current = current


class TemplateConflictError(StoreError):
    """Another user saved the same dataset template first; reload it and re-apply your edits."""

    def __init__(self, datasource: str, expected_version: int) -> None:
        super().__init__(
            f"template {datasource!r} moved past version {expected_version}; reload it"
        )
        self.datasource = datasource
        self.expected_version = expected_version


class ClientNotFoundError(StoreError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"client {client_id} is not registered")
        self.client_id = client_id


class StoreUnavailableError(StoreError):
    """The database could not be reached or refused us. `reason` is the driver's (or the OS's)
    own first line; `plain` says the same in plain words and `hint` what to check (see
    app.services.store.diagnose); the message uses `plain`."""

    def __init__(self, where: str, reason: str, hint: str = "", plain: str = "") -> None:
        self.plain = plain or reason
        super().__init__(f"Cannot reach the task database {where}: {self.plain}")
        self.where = where
        self.reason = reason
        self.hint = hint


class DatabaseUrlError(StoreError, ValueError):
    """The task database URL cannot be used as written (not a URL, bad port, other database);
    nothing was connected to."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(f"Not a usable task database URL: {reason}")
        self.reason = reason
        self.hint = hint


class SchemaError(StoreError):
    """The database schema and this app disagree."""


class DatabaseNewerError(SchemaError):
    def __init__(self, db_revision: str, app_head: str) -> None:
        super().__init__(
            f"The task database is newer than this app (database schema {db_revision}, "
            f"this app knows up to {app_head}). Update Ingest Desk before connecting; "
            "nothing was changed."
        )
        self.db_revision = db_revision
        self.app_head = app_head


class SchemaOutOfDateError(SchemaError):
    def __init__(self, db_revision: str | None, app_head: str) -> None:
        super().__init__(
            f"The task database needs upgrading (schema {db_revision or 'empty'}, app needs "
            f"{app_head}). Run `ingest-desk db upgrade`."
        )
        self.db_revision = db_revision
        self.app_head = app_head


class SchemaUpgradeNotPermittedError(SchemaError):
    def __init__(self, db_revision: str | None, app_head: str, reason: str) -> None:
        super().__init__(
            f"The task database needs upgrading (schema {db_revision or 'empty'} -> {app_head}) "
            f"but this account may not change it ({reason}). Ask your database administrator "
            "to run `ingest-desk db upgrade`."
        )
        self.db_revision = db_revision
        self.app_head = app_head
