"""The window's one registry of background work that belongs to a task."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Slot

from app.ui.workers import Worker


class WorkKind(enum.StrEnum):
    """What a task's worker does: runs its steps, follows it for a desk that is gone, or reads
    its Druid side for the details panel."""

    RUN = "run"
    FOLLOW = "follow"
    DRUID_READ = "druid_read"


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: WorkKind
    worker: Worker[Any, Any]
    # Set only by the user's Cancel; closing the window cancels the worker instead, which stops
    # it without recording anything (the task resumes later, here or elsewhere).
    user_cancel: threading.Event


class RunningWork(QObject):
    """At most one worker per task and kind; an entry leaves when its worker is done."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: dict[tuple[str, WorkKind], _Entry] = {}

    def add(
        self, task_id: str, kind: WorkKind, worker: Worker[Any, Any]
    ) -> threading.Event:
        """Register `worker` (before it is submitted); returns its user-cancel event."""
        user_cancel = threading.Event()
        self._entries[(task_id, kind)] = _Entry(kind, worker, user_cancel)
        worker.signals.done.connect(self._release)
        return user_cancel

    def running(self, task_id: str, kind: WorkKind | None = None) -> bool:
        if kind is not None:
            return (task_id, kind) in self._entries
        return any(key[0] == task_id for key in self._entries)

    def task_ids(self, kind: WorkKind) -> tuple[str, ...]:
        return tuple(task_id for task_id, entry_kind in self._entries if entry_kind is kind)

    def cancel_by_user(self, task_id: str) -> bool:
        """The user's Cancel of whatever runs or follows the task; False when nothing does.

        The step in progress sees it at its next check and records the cancellation itself
        (shutting down the Druid task or aborting the upload).
        """
        found = False
        for kind in (WorkKind.RUN, WorkKind.FOLLOW):
            entry = self._entries.get((task_id, kind))
            if entry is not None:
                entry.user_cancel.set()
                found = True
        return found

    def stop_all(self, kind: WorkKind | None = None) -> None:
        """The desk is closing: the workers stop where they are (nothing is recorded)."""
        for entry in self._entries.values():
            if kind is None or entry.kind is kind:
                entry.worker.cancel()

    @Slot(object)
    def _release(self, worker: object) -> None:
        for key, entry in list(self._entries.items()):
            if entry.worker is worker:
                del self._entries[key]
