"""Streaming writers for staging files: NDJSON (.zst or .gz) or Parquet, in parts past a size."""

from __future__ import annotations

import io
import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

TIME_COLUMN = "__time"
QUEUE_DEPTH = 2  # batches in flight to the writer: bounds memory
_ROW_GROUP_ROWS = 200_000
NdjsonCompression = Literal["gzip", "zstd"]


@dataclass
class PartFiles:
    """Where parts go while written (`.partial`) and the rows each received."""

    out_dir: Path
    stem: str
    extension: str
    rows: list[int] = field(default_factory=list)

    def partial(self, index: int) -> Path:
        return self.out_dir / f"{self.stem}.part{index:04d}.{self.extension}.partial"

    def final_names(self) -> list[Path]:
        """One part keeps the plain name; several are numbered from 0001 in order."""
        if len(self.rows) <= 1:
            return [self.out_dir / f"{self.stem}.{self.extension}"]
        return [
            self.out_dir / f"{self.stem}-{index + 1:04d}.{self.extension}"
            for index in range(len(self.rows))
        ]

    def discard(self) -> None:
        for index in range(max(1, len(self.rows))):
            self.partial(index).unlink(missing_ok=True)

    def publish(self) -> list[tuple[Path, int]]:
        """Rename complete parts to their final names (never a plausible-looking half file)."""
        finals = self.final_names()
        for index, final in enumerate(finals):
            self.partial(index).replace(final)
        return list(zip(finals, self.rows, strict=True))


def _ndjson_member(batch: pl.DataFrame, compression: NdjsonCompression, level: int) -> bytes:
    """One batch as NDJSON in its own gzip member or zstd frame (Polars' own encoder, no GIL)."""
    buffer = io.BytesIO()
    batch.write_ndjson(buffer, compression=compression, compression_level=level)
    return buffer.getvalue()


class NdjsonWriter:
    """NDJSON compressed as one gzip member or zstd frame per batch on a thread pool, in order.

    Serialising and compressing run on the pool (Polars releases the GIL), so every core works;
    concatenated members (frames) are a valid gzip (zstd) file that gzip/zstd, Python and Druid
    decompress whole, and a part can end after any member.
    """

    def __init__(
        self, files: PartFiles, compression: NdjsonCompression, level: int, part_bytes: int | None
    ) -> None:
        self._files = files
        self._compression: NdjsonCompression = compression
        self._level = level
        self._part_bytes = part_bytes
        workers = os.cpu_count() or 2
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ndjson")
        self._pending: deque[tuple[Future[bytes], int]] = deque()
        files.rows.append(0)
        self._handle = files.partial(0).open("wb")

    def _drain_one(self) -> None:
        future, rows = self._pending.popleft()
        self._handle.write(future.result())
        self._files.rows[-1] += rows
        if self._part_bytes is not None and self._handle.tell() >= self._part_bytes:
            self._handle.close()
            self._files.rows.append(0)
            self._handle = self._files.partial(len(self._files.rows) - 1).open("wb")

    def write(self, batch: pl.DataFrame) -> None:
        future = self._pool.submit(_ndjson_member, batch, self._compression, self._level)
        self._pending.append((future, batch.height))
        while len(self._pending) > QUEUE_DEPTH:
            self._drain_one()

    def close(self) -> None:
        try:
            while self._pending:
                self._drain_one()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._handle.close()
        # A roll-over right after the last member leaves an empty last part: drop it.
        if len(self._files.rows) > 1 and self._files.rows[-1] == 0:
            self._files.partial(len(self._files.rows) - 1).unlink(missing_ok=True)
            self._files.rows.pop()


class ParquetWriter:
    """Parquet on a background thread (Arrow releases the GIL), row groups of ~200,000 rows."""

    def __init__(self, files: PartFiles, part_bytes: int | None) -> None:
        self._files = files
        self._part_bytes = part_bytes
        self._sink: pa.OSFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._queue: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="staging-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                self._pending.append(batch)
                self._pending_rows += batch.height
                if self._pending_rows >= _ROW_GROUP_ROWS:
                    self._flush()
            self._flush()
            self._close_part()
            if not self._files.rows:
                self._files.rows.append(0)
                empty = pa.table({TIME_COLUMN: pa.array([], pa.int64())})
                pq.write_table(empty, self._files.partial(0))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the producer by write/close
            self._error = exc
            while self._queue.get() is not None:
                pass

    def _flush(self) -> None:
        if not self._pending:
            return
        # String views pass to Arrow without copying and write faster; the file is the same.
        table = pl.concat(self._pending).to_arrow(compat_level=pl.CompatLevel.newest())
        rows = self._pending_rows
        self._pending, self._pending_rows = [], 0
        if self._writer is None:
            self._schema = self._schema or table.schema
            self._files.rows.append(0)
            self._sink = pa.OSFile(str(self._files.partial(len(self._files.rows) - 1)), "wb")
            # Snappy: several times faster to write than zstd, and every Druid reads it.
            # No embedded Arrow schema: it would say string_view, which older readers reject;
            # the Parquet types (BYTE_ARRAY/STRING) are what Druid and everyone else read.
            self._writer = pq.ParquetWriter(
                self._sink, self._schema, compression="snappy", store_schema=False
            )
        assert self._sink is not None and self._writer is not None
        if table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)
        self._files.rows[-1] += rows
        if self._part_bytes is not None and self._sink.tell() >= self._part_bytes:
            self._close_part()

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def write(self, batch: pl.DataFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


StagingWriter = NdjsonWriter | ParquetWriter


def open_writer(
    files: PartFiles, staging_format: str, level: int, part_bytes: int | None
) -> StagingWriter:
    """`level` is the compression level of the NDJSON formats; Parquet uses Snappy."""
    if staging_format == "parquet":
        return ParquetWriter(files, part_bytes)
    compression: NdjsonCompression = "zstd" if staging_format == "ndjson.zst" else "gzip"
    return NdjsonWriter(files, compression, level, part_bytes)
