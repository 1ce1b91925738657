"""What a task leaves on this desk between steps: the staging file, its figures, its Druid spec.

The files hold the user's rows, so they are kept private (folders 0700, files 0600: see
app.services.private_files), removed when the task succeeds or is removed, and the folder is held
under a size cap (see StagingArea).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.domain.tasks import Task, TaskState
from app.domain.validation import ColumnType, StagingPart, StagingResult
from app.services.private_files import private_file, private_folder
from app.services.settings import data_dir

log = logging.getLogger(__name__)

# TEST ONLY: the crash-matrix tests set this to a pause point name ("validating", "uploading",
# "submitted", "ingesting", "verifying") so a SIGKILL lands at a known moment; the command-line
# tests set it to "watch" (`tasks --watch` listed, its watch not begun) to send a Ctrl-C there.
# Never set it in production.
PAUSE_ENV = "INGEST_DESK_TEST_PAUSE_AT"
PAUSE_SECONDS_ENV = "INGEST_DESK_TEST_PAUSE_S"


def pause_at(point: str) -> None:
    """Sleep at `point` when the test-only environment variable asks for it (else return)."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    # The marker line tells the test the process reached the point and may now be killed.
    print(f"ingest-desk: test pause at {point}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "600")))


def default_work_dir() -> Path:
    return data_dir() / "staging"


_REMOVED_MARKER = ".removed"


@dataclass(frozen=True, slots=True)
class TaskFiles:
    """The per-task folder: deterministic, so a rerun after a crash finds what the last run left."""

    folder: Path

    @classmethod
    def for_task(cls, work_dir: Path, task_id: str) -> TaskFiles:
        return cls(work_dir / task_id)

    @property
    def task_id(self) -> str:
        return self.folder.name

    def prepare(self) -> Path:
        """The folder, private, before anything is written into it; a task that runs again is no
        longer a removed one."""
        private_folder(self.folder.parent)
        private_folder(self.folder)
        (self.folder / _REMOVED_MARKER).unlink(missing_ok=True)
        return self.folder

    def seal(self) -> None:
        """Every file in the folder readable by this user only. The staging writers create their
        parts with the default mode; the folder (0700) guards them until this runs."""
        for path in self._files():
            private_file(path)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def mark_removed(self) -> None:
        """Removed while it may still run: the files go once the task has ended."""
        if self.folder.is_dir():
            (self.folder / _REMOVED_MARKER).touch()

    @property
    def removed(self) -> bool:
        return (self.folder / _REMOVED_MARKER).exists()

    def size(self) -> int:
        total = 0
        for path in self._files():
            try:
                total += path.stat().st_size
            except OSError:
                continue  # removed meanwhile (a part replaced by its final name)
        return total

    def _files(self) -> Iterator[Path]:
        try:
            yield from (p for p in self.folder.iterdir() if p.is_file())
        except OSError:
            return

    @property
    def staging_json(self) -> Path:
        return self.folder / "staging.json"

    @property
    def spec_json(self) -> Path:
        return self.folder / "spec.json"

    def save_staging(self, staging: StagingResult) -> None:
        doc = {
            "path": str(staging.path),
            "format": staging.format,
            "rows": staging.rows,
            "bytes": staging.bytes,
            "sha256": staging.sha256,
            "min_time_ms": staging.min_time_ms,
            "max_time_ms": staging.max_time_ms,
            "excluded_rows": staging.excluded_rows,
            "columns": [[name, kind.value] for name, kind in staging.columns],
            "parts": [
                {"path": str(p.path), "rows": p.rows, "bytes": p.bytes, "sha256": p.sha256}
                for p in staging.files
            ],
        }
        _write_atomically(self.staging_json, json.dumps(doc))

    def load_staging(self) -> StagingResult | None:
        """The staged file's figures, or None when missing, damaged or no longer matching."""
        try:
            doc = json.loads(self.staging_json.read_text(encoding="utf-8"))
            staging = StagingResult(
                path=Path(doc["path"]),
                format=str(doc["format"]),
                rows=int(doc["rows"]),
                bytes=int(doc["bytes"]),
                sha256=str(doc["sha256"]),
                min_time_ms=doc["min_time_ms"],
                max_time_ms=doc["max_time_ms"],
                excluded_rows=int(doc["excluded_rows"]),
                columns=tuple((str(n), ColumnType(k)) for n, k in doc["columns"]),
                parts=tuple(
                    StagingPart(Path(p["path"]), int(p["rows"]), int(p["bytes"]), str(p["sha256"]))
                    for p in doc.get("parts", [])
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("no usable staging record in %s: %s", self.folder, exc)
            return None
        # A staging file changed or lost since the record was written must be made again.
        for part in staging.files:
            if not part.path.is_file() or part.path.stat().st_size != part.bytes:
                return None
        return staging

    def save_spec(self, body: str) -> None:
        _write_atomically(self.spec_json, body)

    def load_spec(self) -> str | None:
        try:
            return self.spec_json.read_text(encoding="utf-8")
        except OSError:
            return None


def _write_atomically(target: Path, text: str) -> None:
    # Replaced only once complete: a kill mid-write must not leave a half record to trust.
    private_folder(target.parent.parent)
    private_folder(target.parent)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    private_file(partial)
    partial.replace(target)


TaskLookup = Callable[[str], Task | None]


@dataclass(frozen=True, slots=True)
class Tidied:
    """What a tidy-up removed (task ids) and the bytes the staging folder still holds."""

    removed: tuple[str, ...]
    bytes_kept: int


@dataclass(frozen=True, slots=True)
class _Held:
    files: TaskFiles
    task: Task | None  # None: not in this store (another database, or deleted)
    size: int

    @property
    def evictable(self) -> bool:
        return self.task is None or self.task.state.is_terminal

    @property
    def eviction_order(self) -> tuple[int, float]:
        """Folders no task in this store owns first (by age), then tasks by when they ended."""
        if self.task is None:
            try:
                return (0, self.files.folder.stat().st_mtime)
            except OSError:
                return (0, 0.0)
        return (1, (self.task.finished_at or self.task.updated_at).timestamp())


class StagingArea:
    """This desk's staging folder: one private folder per task.

    A task's files go when it succeeds (after verification) or is removed. A failed task's stay
    for a retry until the folder passes `cap_bytes`; then the files of the tasks that ended
    longest ago go first (a folder of a task this store does not know, before them). A task that
    has not ended keeps its files whatever the size: the store's state says so, so a task
    another desk on this machine runs is safe too.
    """

    def __init__(self, work_dir: Path, find_task: TaskLookup, cap_bytes: int) -> None:
        self.work_dir = work_dir
        self._find = find_task
        self.cap_bytes = cap_bytes

    def files(self, task_id: str) -> TaskFiles:
        return TaskFiles.for_task(self.work_dir, task_id)

    def succeeded(self, task_id: str) -> None:
        self.files(task_id).discard()

    def removed(self, task_id: str) -> None:
        """The user removed the task: its files go now if it has ended, else once it ends."""
        files = self.files(task_id)
        task = self._find(task_id)
        if task is None or task.state.is_terminal:
            files.discard()
        else:
            files.mark_removed()

    def tidy(self) -> Tidied:
        """Remove what no task needs (a succeeded task's files, an ended removed one's, an ended
        task's empty folder), then, past the cap, the files of the tasks that ended first."""
        held: list[_Held] = []
        gone: list[str] = []
        for files in self._folders():
            task = self._find(files.task_id)
            size = files.size()
            if task is not None and task.state.is_terminal and (
                task.state is TaskState.SUCCEEDED or files.removed or size == 0
            ):
                files.discard()
                gone.append(files.task_id)
            else:
                held.append(_Held(files, task, size))
        total = sum(h.size for h in held)
        for victim in sorted((h for h in held if h.evictable), key=lambda h: h.eviction_order):
            if total <= self.cap_bytes:
                break
            # Asked again just before: a retry may have started the task since the first look.
            latest = self._find(victim.files.task_id)
            if latest is not None and not latest.state.is_terminal:
                continue
            victim.files.discard()
            gone.append(victim.files.task_id)
            total -= victim.size
        if gone:
            log.info("staging folder: removed the files of %d task(s)", len(gone))
        return Tidied(tuple(gone), total)

    def tidy_quietly(self) -> None:
        """tidy() for the steps: housekeeping never fails the task that asked for it."""
        try:
            self.tidy()
        except Exception:  # a store or disk hiccup here is retried at the next staging
            log.exception("could not tidy the staging folder %s", self.work_dir)

    def _folders(self) -> Iterator[TaskFiles]:
        try:
            entries = sorted(self.work_dir.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_dir() and not entry.name.startswith("."):
                yield TaskFiles(entry)
