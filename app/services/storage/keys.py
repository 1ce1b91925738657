"""Deterministic S3 object keys: the same task and file always map to the same key (idempotent)."""

from __future__ import annotations

import re
from datetime import date

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")
_HEX = re.compile(r"[0-9a-f]{16,}")
HASH_INDEX_DIR = "_by-sha256"


def _segment(value: str, what: str) -> str:
    # One path segment: slashes or odd characters would move the object out of its folder.
    cleaned = _SAFE.sub("_", value.strip()).strip("._")
    if not cleaned:
        raise ValueError(f"{what} {value!r} gives an empty key segment")
    return cleaned


def normalise_prefix(prefix: str) -> str:
    return "/".join(part for part in prefix.strip().split("/") if part)


def datasource_prefix(prefix: str, datasource: str) -> str:
    """The folder all of a datasource's staging objects live under, with a trailing slash."""
    head = normalise_prefix(prefix)
    folder = _segment(datasource, "datasource")
    return f"{head}/{folder}/" if head else f"{folder}/"


def object_key(
    prefix: str, datasource: str, day: date, task_id: str, sha256: str, extension: str
) -> str:
    """`{prefix}/{datasource}/{yyyy-mm-dd}/{task_id}/{sha256[:16]}.{ext}`; pure."""
    digest = sha256.lower()
    if not _HEX.fullmatch(digest):
        raise ValueError(f"sha256 {sha256!r} is not a hex digest")
    ext = extension.lstrip(".")
    if not ext or _SAFE.search(ext):
        raise ValueError(f"extension {extension!r} is not a plain file extension")
    return (
        f"{datasource_prefix(prefix, datasource)}{day.isoformat()}/"
        f"{_segment(task_id, 'task id')}/{digest[:16]}.{ext}"
    )


def hash_marker_key(prefix: str, datasource: str, sha256: str) -> str:
    """Where the duplicate marker for a content hash lives.

    Markers sit beside the datasource folder, not in it, so a Druid input that reads the whole
    datasource prefix never picks one up as data.
    """
    digest = sha256.lower()
    if not _HEX.fullmatch(digest):
        raise ValueError(f"sha256 {sha256!r} is not a hex digest")
    head = normalise_prefix(prefix)
    folder = _segment(datasource, "datasource")
    base = f"{head}/{HASH_INDEX_DIR}" if head else HASH_INDEX_DIR
    return f"{base}/{folder}/{digest}"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"{uri!r} has no bucket or key")
    return bucket, key
