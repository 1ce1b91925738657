"""Upload values: progress ticks, the resume state the task row keeps, and the finished result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

ChecksumAlgorithm = Literal["CRC32", "SHA256"]


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """One progress tick: bytes on the wire so far, and the speed and ETA derived from them."""

    bytes_sent: int
    total_bytes: int
    parts_done: int
    parts_total: int
    bytes_per_second: float | None = None
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float:
        if self.total_bytes <= 0:
            return 1.0
        return min(1.0, self.bytes_sent / self.total_bytes)


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """A part S3 acknowledged: what CompleteMultipartUpload needs, plus our own checksum."""

    number: int
    etag: str
    checksum: str  # base64 digest in the upload's algorithm, as S3 reports it
    size: int


@dataclass(frozen=True, slots=True)
class UploadState:
    """Everything needed to resume a multipart upload after a crash; the task row keeps it.

    S3's ListParts is the source of truth on resume; `parts` lets a resume trust parts whose
    ETag matches without re-reading them, and shows progress before the first request.
    """

    bucket: str
    key: str
    upload_id: str
    part_size: int
    total_bytes: int
    checksum_algorithm: ChecksumAlgorithm
    parts: tuple[CompletedPart, ...] = field(default=())

    @property
    def bytes_done(self) -> int:
        return sum(part.size for part in self.parts)

    def with_part(self, part: CompletedPart) -> UploadState:
        others = tuple(p for p in self.parts if p.number != part.number)
        parts = tuple(sorted((*others, part), key=lambda p: p.number))
        return UploadState(
            self.bucket,
            self.key,
            self.upload_id,
            self.part_size,
            self.total_bytes,
            self.checksum_algorithm,
            parts,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "bucket": self.bucket,
                "key": self.key,
                "upload_id": self.upload_id,
                "part_size": self.part_size,
                "total_bytes": self.total_bytes,
                "checksum_algorithm": self.checksum_algorithm,
                "parts": [[p.number, p.etag, p.checksum, p.size] for p in self.parts],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> UploadState:
        raw = json.loads(text)
        algorithm = raw["checksum_algorithm"]
        if algorithm not in ("CRC32", "SHA256"):
            raise ValueError(f"unknown checksum algorithm {algorithm!r}")
        return cls(
            bucket=str(raw["bucket"]),
            key=str(raw["key"]),
            upload_id=str(raw["upload_id"]),
            part_size=int(raw["part_size"]),
            total_bytes=int(raw["total_bytes"]),
            checksum_algorithm=algorithm,
            parts=tuple(
                CompletedPart(int(n), str(etag), str(checksum), int(size))
                for n, etag, checksum, size in raw["parts"]
            ),
        )


@dataclass(frozen=True, slots=True)
class UploadResult:
    """A finished object: where it is and the figures that prove it is the file we staged."""

    bucket: str
    key: str
    uri: str
    bytes: int
    checksum_algorithm: ChecksumAlgorithm
    checksum: str  # S3's object checksum: for multipart, base64 digest of the part digests + "-N"
    parts: int
    resumed: bool
    parts_reused: int = 0  # parts S3 already held from an earlier attempt
    etag: str | None = None
