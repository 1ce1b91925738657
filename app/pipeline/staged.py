"""What a task leaves on this desk between steps: the staging file, its figures, its Druid spec."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.domain.validation import ColumnType, StagingPart, StagingResult
from app.services.settings import data_dir

log = logging.getLogger(__name__)

# TEST ONLY: the crash-matrix tests set this to a pause point name ("validating", "uploading",
# "submitted", "ingesting", "verifying") so a SIGKILL lands at a known moment. Never set it in
# production.
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


@dataclass(frozen=True, slots=True)
class TaskFiles:
    """The per-task folder: deterministic, so a rerun after a crash finds what the last run left."""

    folder: Path

    @classmethod
    def for_task(cls, work_dir: Path, task_id: str) -> TaskFiles:
        return cls(work_dir / task_id)

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
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
