"""Polars reader settings chosen once per process, before the first file is read."""

from __future__ import annotations

import os

# Polars' streaming CSV reader reads ahead in byte chunks; with its default size it held about
# 300 MB of a 500 MB file at once (bench/README.md). 4 MiB chunks cut that to about 110 MB at
# the same speed. Polars reads the variable at each scan; a value the user set is kept.
CSV_CHUNK_BYTES = 4 << 20


def apply_reader_defaults() -> None:
    """Set once at start-up (before threads read the environment); later calls change nothing."""
    os.environ.setdefault("POLARS_CSV_CHUNK_SIZE", str(CSV_CHUNK_BYTES))
