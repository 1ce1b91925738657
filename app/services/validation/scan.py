"""One streaming pass over a lazy frame: mergeable per-batch aggregates, optional typed output."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

# k for the k-minimum-values distinct sketch: about 3% error, exact below k distinct values.
KMV_SIZE = 1024
_HASH_SPACE = float(2**64)
_COUNT_FIELD = "rows"
BATCH_ROWS = 100_000


class AggKind(enum.Enum):
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    DISTINCT = "distinct"
    COUNTS = "counts"  # rows per value (a per-batch group_by), summed across batches


@dataclass(frozen=True, slots=True)
class Agg:
    """A per-batch aggregate that merges across batches; `key` names it in the results."""

    key: str
    kind: AggKind
    expr: pl.Expr

    def batch_expr(self, below: int | None = None) -> pl.Expr:
        if self.kind is AggKind.DISTINCT:
            hashed = self.expr.drop_nulls().hash(seed=0)
            if below is not None:
                # Only hashes under the sketch's current k-th smallest can enter it, so the
                # costly unique() runs on a sliver of each batch once the sketch is full.
                hashed = hashed.filter(hashed <= below)
            return hashed.unique().bottom_k(KMV_SIZE).implode().alias(self.key)
        if self.kind is AggKind.COUNTS:
            counts = self.expr.drop_nulls().value_counts(name=_COUNT_FIELD)
            return counts.implode().alias(self.key)
        return self.expr.alias(self.key)


def sum_of(key: str, expr: pl.Expr) -> Agg:
    return Agg(key, AggKind.SUM, expr.cast(pl.Int64).sum())


def min_of(key: str, expr: pl.Expr) -> Agg:
    return Agg(key, AggKind.MIN, expr.min())


def max_of(key: str, expr: pl.Expr) -> Agg:
    return Agg(key, AggKind.MAX, expr.max())


def distinct_of(key: str, expr: pl.Expr) -> Agg:
    return Agg(key, AggKind.DISTINCT, expr)


def counts_of(key: str, expr: pl.Expr) -> Agg:
    """Rows per distinct value of `expr` (nulls left out), as a dict; keep the values few."""
    return Agg(key, AggKind.COUNTS, expr)


class BatchSink(Protocol):
    def write(self, batch: pl.DataFrame) -> None: ...


class ScanCancelledError(Exception):
    """The user cancelled while the file was being read."""


def _merge(kind: AggKind, old: Any, new: Any) -> Any:
    if kind is AggKind.COUNTS:
        counts: dict[Any, int] = old or {}
        for entry in new or ():
            value, count = entry.values()  # the struct's fields: the value, then _COUNT_FIELD
            counts[value] = counts.get(value, 0) + count
        return counts
    if new is None:
        return old
    if old is None:
        return new
    if kind is AggKind.SUM:
        return old + new
    if kind is AggKind.MIN:
        return min(old, new)
    if kind is AggKind.MAX:
        return max(old, new)
    merged = sorted(set(old) | set(new))
    return merged[:KMV_SIZE]


def _threshold(sketch: Any, kind: AggKind) -> int | None:
    if kind is not AggKind.DISTINCT or sketch is None or len(sketch) < KMV_SIZE:
        return None
    return int(sketch[KMV_SIZE - 1])


def distinct_estimate(sketch: Iterable[int] | None) -> int:
    values = sorted(sketch or ())
    if len(values) < KMV_SIZE:
        return len(values)
    kth = values[KMV_SIZE - 1] + 1
    return round((KMV_SIZE - 1) * _HASH_SPACE / kth)


@dataclass(frozen=True, slots=True)
class ScanResult:
    rows: int
    values: dict[str, Any]
    head: pl.DataFrame | None = None  # the first `keep_head` rows of the frame, when asked


def run_scan(
    frame: pl.LazyFrame,
    derived: list[pl.Expr],
    aggs: list[Agg],
    output: list[pl.Expr] | None = None,
    sink: BatchSink | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    keep_head: int = 0,
) -> ScanResult:
    """Read the frame once; derived columns are computed once per batch and shared by aggregates."""
    results: dict[str, Any] = {agg.key: None for agg in aggs}
    kinds = {agg.key: agg.kind for agg in aggs}
    rows = 0
    heads: list[pl.DataFrame] = []
    head_columns = frame.collect_schema().names() if keep_head else []  # not the derived ones
    source = frame.with_columns(derived) if derived else frame
    for batch in source.collect_batches(chunk_size=BATCH_ROWS):
        if cancelled is not None and cancelled():
            raise ScanCancelledError
        if batch.height == 0:
            continue
        if rows < keep_head:
            heads.append(batch.head(keep_head - rows).select(head_columns))
        rows += batch.height
        batch_exprs = [agg.batch_expr(_threshold(results[agg.key], agg.kind)) for agg in aggs]
        if batch_exprs:
            values = batch.select(batch_exprs).row(0, named=True)
            for key, value in values.items():
                results[key] = _merge(kinds[key], results[key], value)
        if sink is not None and output is not None:
            sink.write(batch.select(output))
        if progress is not None:
            progress(rows)
    for key, kind in kinds.items():
        if kind is AggKind.DISTINCT:
            results[key] = distinct_estimate(results[key])
        elif kind is AggKind.SUM and results[key] is None:
            results[key] = 0
        elif kind is AggKind.COUNTS and results[key] is None:
            results[key] = {}
    head = pl.concat(heads) if heads else None
    return ScanResult(rows, results, head)
