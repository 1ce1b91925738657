"""Deterministic S3 object keys: the same task and file always map to the same key (idempotent)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
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


def _datasource_segment(datasource: str) -> str:
    """The datasource's folder name: ASCII names keep the key they always had (so uploads in
    flight resume); any other name Druid accepts (`日本語`, `Umsätze`) becomes an ASCII slug
    plus a short hash of the exact name, so two names that slug alike never share a folder."""
    if not datasource.strip():
        raise ValueError(f"datasource {datasource!r} gives an empty key segment")
    cleaned = _SAFE.sub("_", datasource.strip()).strip("._")
    if datasource.isascii() and cleaned:
        return cleaned
    folded = unicodedata.normalize("NFKD", datasource).encode("ascii", "ignore").decode()
    slug = _SAFE.sub("_", folded.strip()).strip("._-")[:60] or "ds"
    digest = hashlib.sha256(datasource.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}"


def normalise_prefix(prefix: str) -> str:
    return "/".join(part for part in prefix.strip().split("/") if part)


def datasource_prefix(prefix: str, datasource: str) -> str:
    """The folder all of a datasource's staging objects live under, with a trailing slash."""
    head = normalise_prefix(prefix)
    folder = _datasource_segment(datasource)
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
    folder = _datasource_segment(datasource)
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
