"""Write the typed staging file Druid reads, then prove its size, row count and SHA-256."""

from __future__ import annotations

import gzip
import hashlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from app.domain.validation import StagingResult, Verdict
from app.services.reading.source import SourceTable
from app.services.validation import TIME_COLUMN, ValidateOptions, ValidationOutcome, validate_source
from app.services.validation.scan import run_scan

StagingFormat = Literal["ndjson.gz", "parquet"]
_QUEUE_DEPTH = 2  # batches in flight to the writer: bounds memory
_ROW_GROUP_ROWS = 200_000


class NotStageableError(Exception):
    """The file failed validation (or awaits a decision) and must not be staged."""


@dataclass(frozen=True, slots=True)
class StagingOptions:
    format: StagingFormat = "ndjson.gz"
    # gzip level 6 is zlib's default; 1-3 halve the time for a slightly larger file.
    gzip_level: int = 6


class _BackgroundWriter:
    """Encodes and compresses on a background thread while the main thread validates the next
    batch; zlib, zstd and Arrow release the GIL, so both cores stay busy."""

    def __init__(self) -> None:
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="staging-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                self._consume(batch)
            self._finish()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the producer by write/close
            self._error = exc
            while self._queue.get() is not None:
                pass

    def _consume(self, batch: pl.DataFrame) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def write(self, batch: pl.DataFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class _NdjsonGzipWriter:
    """NDJSON compressed as one gzip member per batch on a thread pool, written in order.

    zlib releases the GIL, so every core compresses; concatenated members are a valid gzip
    file that gzip, Python and Druid (which reads multi-member gzip) all decompress whole.
    """

    def __init__(self, path: Path, level: int) -> None:
        self._handle = path.open("wb")
        self._level = level
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="gzip")
        self._pending: deque[Future[bytes]] = deque()

    def write(self, batch: pl.DataFrame) -> None:
        data = batch.write_ndjson().encode("utf-8")
        self._pending.append(self._pool.submit(gzip.compress, data, self._level, mtime=0))
        while len(self._pending) > _QUEUE_DEPTH:
            self._handle.write(self._pending.popleft().result())

    def close(self) -> None:
        try:
            while self._pending:
                self._handle.write(self._pending.popleft().result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._handle.close()


class _ParquetWriter(_BackgroundWriter):
    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        super().__init__()

    def _consume(self, batch: pl.DataFrame) -> None:
        # Small row groups make Parquet slow to write and to read: gather ~half a million rows.
        self._pending.append(batch)
        self._pending_rows += batch.height
        if self._pending_rows >= _ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        # String views pass to Arrow without copying and write faster; the file is the same.
        table = pl.concat(self._pending).to_arrow(compat_level=pl.CompatLevel.newest())
        self._pending, self._pending_rows = [], 0
        if self._writer is None:
            self._schema = table.schema
            # Snappy: several times faster to write than zstd, and every Druid reads it.
            # No embedded Arrow schema: it would say string_view, which older readers reject;
            # the Parquet types (BYTE_ARRAY/STRING) are what Druid and everyone else read.
            self._writer = pq.ParquetWriter(
                self._path, table.schema, compression="snappy", store_schema=False
            )
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def _finish(self) -> None:
        self._flush()
        if self._writer is None:
            pq.write_table(pa.table({TIME_COLUMN: pa.array([], pa.int64())}), self._path)
        else:
            self._writer.close()


_Writer = _NdjsonGzipWriter | _ParquetWriter


def _open_writer(path: Path, options: StagingOptions) -> _Writer:
    if options.format == "parquet":
        return _ParquetWriter(path)
    return _NdjsonGzipWriter(path, options.gzip_level)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _not_stageable(outcome: ValidationOutcome) -> NotStageableError:
    verdict = outcome.report.verdict
    reason = "it needs a decision first" if verdict is Verdict.NEEDS_REVIEW else "it is not valid"
    return NotStageableError(f"{outcome.report.file.name} cannot be staged: {reason}.")


def _result(outcome: ValidationOutcome, target: Path, options: StagingOptions) -> StagingResult:
    plan = outcome.plan
    assert plan is not None
    low, high = outcome.time_range
    return StagingResult(
        path=target,
        format=options.format,
        rows=plan.rows,
        bytes=target.stat().st_size,
        sha256=_sha256(target),
        min_time_ms=_epoch_ms(low),
        max_time_ms=_epoch_ms(high),
        excluded_rows=plan.excluded_rows,
        columns=tuple((c.output, c.type) for c in plan.columns),
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
    """Stream an already validated file into `out_dir/stem.<format>` with a millisecond __time."""
    options = options or StagingOptions()
    plan = outcome.plan
    if plan is None:
        raise _not_stageable(outcome)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}.{options.format}"
    partial = target.with_name(target.name + ".partial")
    frame = plan.frame if plan.exclude is None else plan.frame.filter(~plan.exclude)
    output = [plan.time_ms, *[c.value.alias(c.output) for c in plan.columns]]
    writer = _open_writer(partial, options)
    try:
        run_scan(frame, [], [], output, writer, progress, cancelled)
    finally:
        writer.close()
    # Renamed only once complete, so a crash never leaves a plausible-looking half file.
    partial.replace(target)
    return _result(outcome, target, options)


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
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}.{options.format}"
    partial = target.with_name(target.name + ".partial")
    writer = _open_writer(partial, options)
    try:
        outcome = validate_source(
            source, validate_options, sink=writer, progress=progress, cancelled=cancelled
        )
    finally:
        writer.close()
    if outcome.plan is None:
        partial.unlink(missing_ok=True)
        return outcome, None
    if outcome.speculation_confirmed:
        partial.replace(target)
        return outcome, _result(outcome, target, options)
    partial.unlink(missing_ok=True)
    return outcome, stage(outcome, out_dir, stem, options, progress=progress, cancelled=cancelled)
