"""Opening the task store: at start, again on Retry, or the embedded one for this run only."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.pipeline.connections import describe_store_failure
from app.pipeline.session import DeskSession, describe_database
from app.services.settings import Settings
from app.ui.workers import WorkerContext, WorkerFailure, WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """Why the task database did not open, in the Settings Test's words (never the driver's)."""

    message: str  # what failed and where: "Cannot connect to postgresql://…: the server refused…"
    hint: str  # what to check
    details: str  # the traceback, for Details… and bug reports
    local: bool  # the store that failed is an embedded file on this computer
    # The configured store is a shared one, so the embedded store is a way to go on meanwhile.
    can_work_locally: bool

    @property
    def text(self) -> str:
        return f"Could not open the task database. {self.message}"


OpenOutcome = DeskSession | StoreProblem | None


class StoreOpening(QObject):
    """One opening at a time, on a worker; `opened` or `failed` follows each `open`.

    A failure is an answer here, not a crash: the worker returns a StoreProblem (the pipeline's
    mapping of the error, the one the Settings Test uses), so nothing raw reaches the window.
    """

    opened = Signal(object)  # DeskSession
    failed = Signal(object)  # StoreProblem
    started = Signal(str)  # what is being opened, e.g. "PostgreSQL at 127.0.0.1:5432/tasks"

    def __init__(
        self,
        workers: WorkerPool,
        *,
        database_url: str | None,
        poll_interval_s: float,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._workers = workers
        self._database_url = database_url
        self._poll_interval_s = poll_interval_s
        self.busy = False
        self.local = False  # the session open now is the embedded one, for this run only
        self.problem: StoreProblem | None = None
        self._attempt = (False, False)  # (embedded, shared configured) of the last open

    def configured_url(self, settings: Settings) -> str:
        """The store the settings (or the caller) name, as saved: no password."""
        return self._database_url or settings.effective_database_url

    @staticmethod
    def local_url(settings: Settings) -> str:
        """The embedded store on this computer, whatever the settings name."""
        return settings.model_copy(update={"database_url": None}).effective_database_url

    def open(self, settings: Settings, *, local: bool = False) -> bool:
        """Start opening (the embedded store when `local`); False while one is under way."""
        if self.busy:
            return False
        self.busy = True
        configured = self.configured_url(settings)
        url = self.local_url(settings) if local else configured
        interval = self._poll_interval_s
        instead_of = describe_database(configured).location if local else ""
        embedded, shared = url.startswith("sqlite"), not configured.startswith("sqlite")
        self._attempt = (embedded, shared)

        def open_store(context: WorkerContext[None]) -> OpenOutcome:
            try:
                # The session adds the keyring's password (pipeline.database.connect_url).
                session = DeskSession.open(settings, database_url=url, poll_interval_s=interval)
            except Exception as exc:  # every reason is shown in plain words; the log has the rest
                log.warning("the task database %s did not open", url, exc_info=True)
                check = describe_store_failure(url, exc)
                return StoreProblem(
                    check.message, check.hint, traceback.format_exc(), embedded, shared
                )
            if context.cancelled():  # the window closed meanwhile: no one will close it
                session.close()
                return None
            if instead_of:
                info = session.info
                session.info = replace(info, database=replace(info.database, instead_of=instead_of))
            return session

        self.started.emit(describe_database(url).location)
        self._workers.start(
            "open the task database", open_store, on_finished=self._done,
            on_failed=self._crashed,
        )
        return True

    @Slot(WorkerFailure)
    def _crashed(self, failure: WorkerFailure) -> None:
        """Not an error the store raised (those come back as a StoreProblem): a bug, logged."""
        self._done(StoreProblem(failure.message, "", failure.details, *self._attempt))

    @Slot(object)
    def _done(self, outcome: OpenOutcome) -> None:
        self.busy = False
        if isinstance(outcome, DeskSession):
            self.local = outcome.info.database.instead_of != ""
            self.problem = None
            self.opened.emit(outcome)
        elif isinstance(outcome, StoreProblem):
            self.problem = outcome
            self.failed.emit(outcome)


class WaitingFiles(QObject):
    """Files added while no store is open: kept for whichever opens, counted when quitting."""

    changed = Signal(int)  # how many wait now

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._direct: list[Path] = []  # become tasks at once (the command line, the self-test)
        self._asking: list[Path] = []  # go through the ingest dialog (drops, Add files, Open)

    def __len__(self) -> int:
        return len(self._direct) + len(self._asking)

    def hold(self, paths: list[Path], *, ask: bool) -> None:
        (self._asking if ask else self._direct).extend(paths)
        self.changed.emit(len(self))

    def take(self, *, ask: bool) -> list[Path]:
        if ask:
            taken, self._asking = self._asking, []
        else:
            taken, self._direct = self._direct, []
        if taken:
            self.changed.emit(len(self))
        return taken

    def notice(self, *, opening_failed: bool) -> str:
        count = len(self)
        files = f"{count} file{'s' if count != 1 else ''}"
        if opening_failed:
            return f"The task database is not open; {files} kept until one opens."
        return f"Opening the task database; {files} will follow."
