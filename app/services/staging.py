"""Write the typed staging file Druid reads, then prove its size, row count and SHA-256."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from app.domain.validation import StagingPart, StagingResult, Verdict
from app.services.reading.failures import reading_boundary
from app.services.reading.source import SourceTable
from app.services.settings import Settings
from app.services.staging_writers import PartFiles, StagingWriter, open_writer
from app.services.validation import ValidateOptions, ValidationOutcome, validate_source
from app.services.validation.scan import run_scan

StagingFormat = Literal["ndjson.zst", "ndjson.gz", "parquet"]


class NotStageableError(Exception):
    """The file failed validation (or awaits a decision) and must not be staged."""


@dataclass(frozen=True, slots=True)
class StagingOptions:
    format: StagingFormat = "ndjson.gz"
    # gzip level 6 is zlib's default; 1-3 halve the time for a slightly larger file.
    gzip_level: int = 6
    # zstd level 1 writes a file as small as gzip's level 6 at about a sixth of the CPU time
    # (bench/README.md); higher levels cost more than they save on the upload.
    zstd_level: int = 1
    # Past this size the output rolls into a new part, so Druid's parallel subtasks can each
    # take one; None keeps one file.
    part_bytes: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StagingOptions:
        return cls(format=settings.staging_format, part_bytes=settings.staging_part_mb << 20)


def _digest(path: Path, *digests: hashlib._Hash) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(4 << 20):
            for digest in digests:
                digest.update(chunk)


def _epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _not_stageable(outcome: ValidationOutcome) -> NotStageableError:
    verdict = outcome.report.verdict
    reason = "it needs a decision first" if verdict is Verdict.NEEDS_REVIEW else "it is not valid"
    return NotStageableError(f"{outcome.report.file.name} cannot be staged: {reason}.")


def _open(out_dir: Path, stem: str, options: StagingOptions) -> tuple[PartFiles, StagingWriter]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{glob.escape(stem)}.part*.partial"):
        # Left by a run killed mid-write; the stem is escaped so `q?` never matches `q1`'s parts.
        stale.unlink()
    files = PartFiles(out_dir, stem, options.format)
    level = options.zstd_level if options.format == "ndjson.zst" else options.gzip_level
    return files, open_writer(files, options.format, level, options.part_bytes)


def _result(outcome: ValidationOutcome, files: PartFiles, options: StagingOptions) -> StagingResult:
    plan = outcome.plan
    assert plan is not None
    published = files.publish()
    whole = hashlib.sha256()
    parts: list[StagingPart] = []
    for path, rows in published:
        own = hashlib.sha256()
        _digest(path, own, whole)
        parts.append(StagingPart(path, rows, path.stat().st_size, own.hexdigest()))
    low, high = outcome.time_range
    single = len(parts) == 1
    return StagingResult(
        path=parts[0].path,
        format=options.format,
        rows=plan.rows,
        bytes=sum(p.bytes for p in parts),
        sha256=parts[0].sha256 if single else whole.hexdigest(),
        min_time_ms=_epoch_ms(low),
        max_time_ms=_epoch_ms(high),
        excluded_rows=plan.excluded_rows,
        columns=tuple((c.output, c.type) for c in plan.columns),
        parts=tuple(parts),
    )


def stage(
    outcome: ValidationOutcome,
    out_dir: Path,
    stem: str,
    options: StagingOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> StagingResult:
    """Stream an already validated file into `out_dir/stem.<format>` (or numbered parts)."""
    options = options or StagingOptions()
    plan = outcome.plan
    if plan is None:
        raise _not_stageable(outcome)
    frame = plan.frame if plan.exclude is None else plan.frame.filter(~plan.exclude)
    output = [plan.time_ms, *[c.value.alias(c.output) for c in plan.columns]]
    files, writer = _open(out_dir, stem, options)
    try:
        run_scan(frame, [], [], output, writer, progress, cancelled)
    except BaseException:
        writer.close()
        files.discard()
        raise
    writer.close()
    return _result(outcome, files, options)


@reading_boundary
def validate_and_stage(
    source: SourceTable,
    validate_options: ValidateOptions,
    out_dir: Path,
    stem: str,
    options: StagingOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[ValidationOutcome, StagingResult | None]:
    """Validate and stage in one read of the file when the first rows' guesses hold (the usual
    case); otherwise the speculative output is discarded and a second pass writes the file."""
    options = options or StagingOptions()
    files, writer = _open(out_dir, stem, options)
    try:
        outcome = validate_source(
            source, validate_options, sink=writer, progress=progress, cancelled=cancelled
        )
    except BaseException:
        writer.close()
        files.discard()
        raise
    writer.close()
    if outcome.plan is None:
        files.discard()
        return outcome, None
    if outcome.speculation_confirmed:
        return outcome, _result(outcome, files, options)
    files.discard()
    return outcome, stage(outcome, out_dir, stem, options, progress=progress, cancelled=cancelled)
