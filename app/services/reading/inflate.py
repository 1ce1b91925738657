"""Inflate ZIP members as bounded streams: their real size, or their head, never the whole part."""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, BinaryIO

# Handed each inflated chunk of a member, in order (a sheet's cell references are read there).
ChunkSink = Callable[[bytes], None]

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length
_LOCAL_MAGIC = b"PK\x03\x04"
_IN_CHUNK = 64 * 1024
# Each decompress call returns at most this much, so memory stays flat whatever the ratio.
_OUT_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Inflated:
    """What a member produced before the reading stopped."""

    size: int  # bytes produced (more than `cap` means it was stopped there)
    over_ratio: bool  # stopped because it expanded more than the ratio allows


def _data_offset(handle: BinaryIO, info: zipfile.ZipInfo) -> int:
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"truncated local header for {info.filename}")
    magic, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if magic != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    offset: int = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    return offset


def inflated_size(
    handle: BinaryIO,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    cap: int,
    *,
    ratio: int | None = None,
    ratio_floor: int = 0,
    sink: ChunkSink | None = None,
) -> Inflated:
    """Inflate one member, discarding the output, until it ends or passes `cap` (or the ratio).

    Deflated data is inflated from the raw bytes with zlib, so a header that understates the
    size cannot hide an expansion from this check (other readers inflate the stream, not the
    header's claim).
    """
    if info.compress_type == zipfile.ZIP_STORED and sink is None:
        return Inflated(info.compress_size, False)
    allowed = cap if ratio is None else min(cap, max(ratio_floor, ratio * info.compress_size))
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        # Other methods (and encrypted members) go through zipfile, still chunk by chunk.
        return _counted(archive.open(info), allowed, cap, sink)
    handle.seek(_data_offset(handle, info))
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    left, total = info.compress_size, 0
    while left > 0 and not inflater.eof:
        pending = handle.read(min(_IN_CHUNK, left))
        if not pending:
            break
        left -= len(pending)
        while pending:
            out = inflater.decompress(pending, _OUT_CHUNK)
            total += len(out)
            if sink is not None:
                sink(out)
            pending = inflater.unconsumed_tail
            if total > allowed:
                return Inflated(total, total <= cap)
    rest = inflater.flush(_OUT_CHUNK)
    total += len(rest)
    if sink is not None:
        sink(rest)
    return Inflated(total, total > allowed and total <= cap)


def _counted(
    stream: IO[bytes], allowed: int, cap: int, sink: ChunkSink | None = None
) -> Inflated:
    total = 0
    with stream:
        while chunk := stream.read(_OUT_CHUNK):
            total += len(chunk)
            if sink is not None:
                sink(chunk)
            if total > allowed:
                return Inflated(total, total <= cap)
    return Inflated(total, False)


def read_head(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The first `limit` bytes of a member; the rest is never inflated."""
    with archive.open(name) as member:
        return member.read(limit)
