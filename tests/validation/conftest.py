"""Helpers that write small input files for the data-engine tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.services.reading import ReadOptions, open_source
from app.services.validation import ValidateOptions, ValidationOutcome, validate_source

WriteFile = Callable[..., Path]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write


def validate_path(
    path: Path, options: ValidateOptions | None = None, read: ReadOptions | None = None
) -> ValidationOutcome:
    source = open_source(path, read)
    try:
        return validate_source(source, options)
    finally:
        source.close()
