"""Druid test fixtures: the fault-injecting fake, an in-memory keyring, tiny staged files."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.validation import StagingResult
from app.services.reading import open_source
from app.services.staging import validate_and_stage
from app.services.validation import ValidateOptions, scan

# The real-Druid suite reuses the dev stack fixture and its log-tail report hook.
from tests.devstack.conftest import devstack, pytest_runtest_makereport  # noqa: F401
from tests.support.credentials import (
    MemoryKeyring,
    memory_keyring_installed,
)

from .fake import FakeDruid


@pytest.fixture
def fake() -> FakeDruid:
    return FakeDruid()




@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with memory_keyring_installed() as backend:
        yield backend


def stage_csv(
    text: str, out_dir: Path, stem: str = "staged", batch_rows: int | None = None
) -> StagingResult:
    """Validate and stage CSV text with the app's own code; `batch_rows` forces small batches,
    and so a multi-member gzip file (one member per batch), as large inputs produce."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source_path = out_dir / f"{stem}.csv"
    source_path.write_text(text, encoding="utf-8")
    saved = scan.BATCH_ROWS
    if batch_rows is not None:
        scan.BATCH_ROWS = batch_rows
    source = open_source(source_path)
    try:
        _, result = validate_and_stage(source, ValidateOptions(), out_dir, stem)
    finally:
        source.close()
        scan.BATCH_ROWS = saved
    assert result is not None, f"{stem}.csv did not validate"
    return result


def gzip_members(path: Path) -> int:
    data, members = path.read_bytes(), 0
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        inflater.decompress(data)
        data = inflater.unused_data
        members += 1
    return members
