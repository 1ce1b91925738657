"""Advice, not magic: when appends have left many small segments, the compaction that merges them.

The app never compacts on its own (an operator owns the cluster's load); it says what it sees in
`sys.segments` and shows the compaction task an operator could submit, or the auto-compaction
setting that would keep the datasource tidy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.domain.druid import Interval
from app.services.druid.client import DruidClient
from app.services.druid.errors import DruidSqlError

# Worth a word past this many segments in the interval, when they average under this many rows
# (Druid's guidance is segments of millions of rows; its partition size is 5,000,000).
MANY_SEGMENTS = 10
SMALL_ROWS = 500_000
TARGET_ROWS = 5_000_000


@dataclass(frozen=True, slots=True)
class CompactionAdvice:
    segments: int
    rows: int
    sentence: str
    task_json: str  # a compaction task for the interval, to submit to the Overlord


def compaction_advice(
    client: DruidClient, datasource: str, interval: Interval
) -> CompactionAdvice | None:
    """None when the interval's segments are few or large enough (or cannot be read)."""
    try:
        found = client.sql(
            "SELECT COUNT(*) AS n, SUM(num_rows) AS r FROM sys.segments WHERE datasource = ? "
            'AND is_published = 1 AND is_overshadowed = 0 AND "start" >= ? AND "end" <= ?',
            [datasource, _iso(interval.start_ms), _iso(interval.end_ms)],
        )
    except DruidSqlError:
        return None
    segments = int(found.first("n") or 0)
    rows = int(found.first("r") or 0)
    if segments < MANY_SEGMENTS or rows / segments >= SMALL_ROWS:
        return None
    task = {
        "type": "compact",
        "dataSource": datasource,
        "ioConfig": {"type": "compact", "inputSpec": {"type": "interval",
                                                       "interval": interval.iso}},
        "tuningConfig": {
            "type": "index_parallel",
            "partitionsSpec": {"type": "dynamic", "maxRowsPerSegment": TARGET_ROWS},
        },
    }
    sentence = (
        f"{datasource} holds {segments:,} segments averaging {rows // segments:,} rows in "
        f"{interval.iso}: queries over it open every one. A compaction task merges them (it "
        "rewrites the interval's segments; submit it to the Overlord when the cluster is "
        "quiet), or turn on auto-compaction for the datasource in the Druid console."
    )
    return CompactionAdvice(segments, rows, sentence, json.dumps(task, indent=2))


def _iso(ms: int) -> str:
    return Interval(ms, ms + 1).iso.split("/", 1)[0]
