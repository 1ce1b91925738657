"""What every step shares: the job it is handed, the outcome it returns, the pool it needs."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.domain.tasks import Task
from app.domain.transfer import UploadProgress
from app.domain.validation import StagingResult, ValidationReport
from app.pipeline.choices import IngestOptions

CancelCheck = Callable[[], bool]


class Pool(enum.StrEnum):
    """Where a step's worker runs: reading files is CPU-bound, the rest waits on the network."""

    CPU = "cpu"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class ValidationProgress:
    """Rows read so far, and the estimated share of the file they are (None: not known)."""

    task_id: str
    rows: int
    fraction: float | None = None


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """This desk's upload of a task: bytes, speed and ETA (other desks see only the fraction)."""

    task_id: str
    upload: UploadProgress


ProgressCallback = Callable[[ValidationProgress], None]
UploadCallback = Callable[[TransferProgress], None]


@dataclass(frozen=True, slots=True)
class Carry:
    """Typed results one step hands to the next within a run (never through the disk)."""

    report: ValidationReport | None = None
    staging: StagingResult | None = None
    bad_rows: Any = None  # a Polars frame of rows with errors, for "Export errors"


@dataclass(frozen=True, slots=True)
class Job:
    """Everything a run of the pipeline is given besides the task itself."""

    path: Path | None
    options: IngestOptions = field(default_factory=IngestOptions)
    cancelled: CancelCheck = lambda: False
    progress: ProgressCallback | None = None
    on_upload: UploadCallback | None = None
    # The user answered what held the task in needs_review: validate it once more.
    answered: bool = False
    carry: Carry = field(default_factory=Carry)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """Where a step left the task, in one sentence, with what the next step needs."""

    task: Task
    message: str
    carry: Carry


class Step(Protocol):
    """One stage of a task's path; `run` is safe to repeat after a kill at any point."""

    name: str
    pool: Pool

    def run(self, task: Task, job: Job) -> StepOutcome: ...
