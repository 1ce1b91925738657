"""Part arithmetic and plumbing: sizes, checksums, the counting body botocore streams."""

from __future__ import annotations

import base64
import hashlib
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.domain.transfer import ChecksumAlgorithm, CompletedPart, UploadState

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
MAX_PARTS = 10_000


def part_size_for(total_bytes: int, preferred: int) -> int:
    """The preferred size, grown in whole MiB when the file would need more than 10,000 parts."""
    needed = -(-total_bytes // MAX_PARTS)
    if needed <= preferred:
        return preferred
    return -(-needed // MIB) * MIB


def digest(algorithm: ChecksumAlgorithm, data: bytes | memoryview) -> bytes:
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    return hashlib.sha256(data).digest()


def composite_checksum(algorithm: ChecksumAlgorithm, parts: tuple[CompletedPart, ...]) -> str:
    """S3's checksum of a multipart object: the digest of the part digests, then "-<parts>"."""
    raw = b"".join(base64.b64decode(p.checksum) for p in sorted(parts, key=lambda p: p.number))
    return f"{base64.b64encode(digest(algorithm, raw)).decode()}-{len(parts)}"


def plan_parts(total: int, part_size: int) -> list[tuple[int, tuple[int, int]]]:
    """(part number, (offset, length)) for every part; an empty file is one empty part."""
    if total == 0:
        return [(1, (0, 0))]
    return [
        (i + 1, (offset, min(part_size, total - offset)))
        for i, offset in enumerate(range(0, total, part_size))
    ]


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class PartBody:
    """A part's bytes as the file-like botocore streams, counting what it hands to the socket.

    Counting on read is what gives byte (not part) progress; a rewind on retry un-counts.
    """

    def __init__(self, data: bytes, on_position: Callable[[int], None]) -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._on_position = on_position

    def __len__(self) -> int:
        return len(self._view)

    def read(self, size: int = -1) -> memoryview:
        # A view, not a copy: the socket takes buffers, and the part is read ~500 times.
        limit = len(self._view)
        end = limit if size is None or size < 0 else min(limit, self._pos + size)
        chunk = self._view[self._pos : end]
        self._pos = end
        self._on_position(end)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, min(len(self._view), base + offset))
        self._on_position(self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos


class ByteCounter:
    """Bytes on the wire per part; workers write their own slot, the caller's thread sums."""

    def __init__(self) -> None:
        self._sent: dict[int, int] = {}
        self._base = 0
        self._lock = threading.Lock()

    def set(self, number: int, position: int) -> None:
        with self._lock:
            self._sent[number] = position

    def add_done(self, size: int) -> None:
        with self._lock:
            self._base += size

    def finish(self, number: int, size: int) -> None:
        with self._lock:
            self._sent.pop(number, None)
            self._base += size

    def total(self) -> int:
        with self._lock:
            return self._base + sum(self._sent.values())


def provable_parts(
    path: Path, state: UploadState, listed: list[dict[str, Any]]
) -> dict[int, CompletedPart]:
    """Keep the listed parts whose bytes provably match the local file; re-send the rest.

    Proof is the part's checksum when S3 lists it, else its ETag (the MD5 of the part for
    unencrypted and SSE-S3 objects); an SSE-KMS part we cannot prove is simply sent again.
    """
    saved = {p.number: p for p in state.parts}
    reused: dict[int, CompletedPart] = {}
    plan = dict(plan_parts(state.total_bytes, state.part_size))
    with path.open("rb") as source:
        for item in listed:
            number = int(item["PartNumber"])
            etag = str(item["ETag"])
            if number not in plan or int(item["Size"]) != plan[number][1]:
                continue
            offset, length = plan[number]
            source.seek(offset)
            data = source.read(length)
            checksum = base64.b64encode(digest(state.checksum_algorithm, data)).decode()
            listed_checksum = item.get(f"Checksum{state.checksum_algorithm}")
            known = saved.get(number)
            if listed_checksum:
                ok = listed_checksum == checksum
            elif known is not None and known.etag == etag:
                ok = known.checksum == checksum
            else:
                ok = etag.strip('"') == md5_hex(data)
            if ok:
                reused[number] = CompletedPart(number, etag, checksum, length)
    return reused
