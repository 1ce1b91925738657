"""Multipart upload against moto's S3 server over HTTP: progress, checksums, resume, cancel."""

from __future__ import annotations

import base64
import hashlib
import threading
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.domain.transfer import UploadProgress, UploadState
from app.services.storage import (
    UploadCancelledError,
    UploadIndex,
    composite_checksum,
    object_key,
)

from .conftest import FAST_RETRY, MIB, MotoServer, make_file, options, uploader

PART = 5 * MIB


class SimulatedCrash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing cleans up."""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record_parts(client: Any) -> list[int]:
    numbers: list[int] = []

    def remember(params: dict[str, Any], **_: Any) -> None:
        numbers.append(int(params["PartNumber"]))

    client.meta.events.register("provide-client-params.s3.UploadPart", remember)
    return numbers


def test_happy_path_with_progress_and_checksum(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "data.ndjson.gz", 2 * PART + 123_457)
    sha = _sha(path)
    key = object_key("ingest-desk", "sales", date(2026, 5, 1), "task-1", sha, "ndjson.gz")
    up = uploader(moto.endpoint, bucket, sse="AES256")
    events: list[UploadProgress] = []
    states: list[UploadState] = []

    result = up.upload_file(
        path,
        key,
        sha256=sha,
        on_progress=events.append,
        on_state=states.append,
        metadata={"task-id": "task-1"},
    )

    size = path.stat().st_size
    assert (result.bucket, result.key, result.bytes, result.parts) == (bucket, key, size, 3)
    assert result.uri == f"s3://{bucket}/{key}"
    assert not result.resumed
    assert result.checksum_algorithm == "CRC32"
    data = path.read_bytes()
    digests = b"".join(
        zlib.crc32(data[i : i + PART]).to_bytes(4, "big") for i in range(0, size, PART)
    )
    assert (
        result.checksum == base64.b64encode(zlib.crc32(digests).to_bytes(4, "big")).decode() + "-3"
    )
    # Progress is in bytes (not only whole parts), never goes backwards, and ends at 100%.
    sent = [e.bytes_sent for e in events]
    assert sent == sorted(sent)
    assert events[-1].bytes_sent == size and events[-1].fraction == 1.0
    # The upload id is handed out before any part is sent, then once per acknowledged part.
    assert states[0].parts == () and len(states) == 4
    assert states[-1].upload_id == states[0].upload_id
    head = up.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentLength"] == size
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {"sha256": sha, "task-id": "task-1"}
    assert head["ChecksumCRC32"].split("-")[0] == result.checksum.split("-")[0]
    body = up.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == data
    assert up.open_uploads() == ()


def test_sha256_parts_and_a_single_small_part(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "small.parquet", 300_000)
    up = uploader(moto.endpoint, bucket, opts=options(checksum_algorithm="SHA256"))
    result = up.upload_file(path, "ingest-desk/x/small.parquet")
    digest = hashlib.sha256(path.read_bytes()).digest()
    assert result.parts == 1
    assert result.checksum == base64.b64encode(hashlib.sha256(digest).digest()).decode() + "-1"
    head = up.client.head_object(Bucket=bucket, Key=result.key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"].split("-")[0] == result.checksum.split("-")[0]


def test_second_upload_of_a_finished_object_sends_nothing(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "f.gz", PART + 10)
    sha = _sha(path)
    up = uploader(moto.endpoint, bucket)
    first = up.upload_file(path, "ingest-desk/ds/f.gz", sha256=sha)
    sent = _record_parts(up.client)
    again = up.upload_file(path, "ingest-desk/ds/f.gz", sha256=sha)
    assert sent == []
    assert again.resumed and again.bytes == first.bytes and again.checksum == first.checksum


def test_resume_after_crash_sends_only_missing_parts(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "big.ndjson.gz", 4 * PART + 777, seed=11)
    sha = _sha(path)
    key = object_key("ingest-desk", "sales", date(2026, 5, 2), "task-2", sha, "ndjson.gz")
    task_row: dict[str, str] = {}

    def persist_then_die(state: UploadState) -> None:
        # S3 acknowledged part 3, but the process dies before the task row records it.
        if len(state.parts) == 3:
            raise SimulatedCrash
        task_row["upload"] = state.to_json()

    crashing = uploader(moto.endpoint, bucket, opts=options(concurrency=1))
    sent_before = _record_parts(crashing.client)
    with pytest.raises(SimulatedCrash):
        crashing.upload_file(path, key, sha256=sha, on_state=persist_then_die)
    assert sent_before == [1, 2, 3]
    saved = UploadState.from_json(task_row["upload"])
    assert [p.number for p in saved.parts] == [1, 2]
    assert [u.upload_id for u in crashing.open_uploads()] == [saved.upload_id]

    # A new process: ListParts shows 1-3 (3 proven by its ETag), so only 4 and 5 go out.
    resumer = uploader(moto.endpoint, bucket)
    sent_after = _record_parts(resumer.client)
    events: list[UploadProgress] = []
    result = resumer.upload_file(path, key, sha256=sha, resume=saved, on_progress=events.append)
    assert sorted(sent_after) == [4, 5]
    assert result.resumed and result.parts == 5 and result.parts_reused == 3
    assert events[0].bytes_sent >= 3 * PART  # progress starts where the first run stopped
    body = resumer.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == path.read_bytes()
    assert resumer.open_uploads() == ()


def test_resume_resends_parts_that_do_not_match_the_file(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "f.gz", 2 * PART + 5, seed=3)
    saved: list[UploadState] = []

    def die_after_first(state: UploadState) -> None:
        saved.append(state)
        if len(state.parts) == 1:
            raise SimulatedCrash

    up = uploader(moto.endpoint, bucket, opts=options(concurrency=1))
    with pytest.raises(SimulatedCrash):
        up.upload_file(path, "ingest-desk/ds/f.gz", on_state=die_after_first)
    # Same size, different bytes in part 1: the saved part must not be trusted.
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    sent = _record_parts(up.client)
    result = up.upload_file(path, "ingest-desk/ds/f.gz", resume=saved[-1])
    assert sorted(sent) == [1, 2, 3] and result.parts_reused == 0
    assert up.client.get_object(Bucket=bucket, Key=result.key)["Body"].read() == bytes(data)


def test_resume_of_an_upload_s3_no_longer_has_starts_over(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "f.gz", PART + 1)
    up = uploader(moto.endpoint, bucket)
    stale = UploadState(
        bucket, "ingest-desk/ds/f.gz", "no-such-upload", PART, path.stat().st_size, "CRC32"
    )
    result = up.upload_file(path, "ingest-desk/ds/f.gz", resume=stale)
    assert not result.resumed and result.parts == 2
    assert up.open_uploads() == ()


def test_cancel_between_parts_aborts_the_upload(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "f.gz", 3 * PART)
    stop = threading.Event()
    up = uploader(moto.endpoint, bucket, opts=options(concurrency=1))
    sent = _record_parts(up.client)

    def cancel_after_first(state: UploadState) -> None:
        if state.parts:
            stop.set()

    with pytest.raises(UploadCancelledError):
        up.upload_file(path, "ingest-desk/ds/f.gz", on_state=cancel_after_first, cancel=stop)
    assert len(sent) < 3
    assert up.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert up.client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_cancel_accepts_a_callable(moto: MotoServer, bucket: str, tmp_path: Path) -> None:
    path = make_file(tmp_path / "f.gz", PART + 1)
    up = uploader(moto.endpoint, bucket)
    with pytest.raises(UploadCancelledError):
        up.upload_file(path, "ingest-desk/ds/f.gz", cancel=lambda: True)
    assert up.open_uploads() == ()


def test_duplicate_marker(moto: MotoServer, bucket: str, tmp_path: Path) -> None:
    path = make_file(tmp_path / "f.gz", 1000)
    sha = _sha(path)
    up = uploader(moto.endpoint, bucket)
    index = UploadIndex(up.client, up.config, FAST_RETRY)
    assert index.find("sales", sha) is None
    result = up.upload_file(
        path, object_key("ingest-desk", "sales", date(2026, 1, 2), "t1", sha, "gz"), sha256=sha
    )
    index.record("sales", sha, result, task_id="t1")
    found = index.find("sales", sha)
    assert found is not None and found.uri == result.uri and found.task_id == "t1"
    assert found.bytes == 1000 and found.uploaded_at is not None
    assert index.find("other-datasource", sha) is None
    index.forget("sales", sha)
    assert index.find("sales", sha) is None


def test_composite_helper_agrees_with_moto(moto: MotoServer, bucket: str, tmp_path: Path) -> None:
    path = make_file(tmp_path / "f.gz", PART + 99)
    up = uploader(moto.endpoint, bucket)
    states: list[UploadState] = []
    result = up.upload_file(path, "ingest-desk/ds/f.gz", on_state=states.append)
    # Moto's own figure for the object, read back from S3 (not our result, which is ours).
    head = up.client.head_object(Bucket=bucket, Key="ingest-desk/ds/f.gz", ChecksumMode="ENABLED")
    theirs = str(head["ChecksumCRC32"])
    ours = composite_checksum("CRC32", states[-1].parts)
    assert theirs.split("-", 1)[0] == ours.split("-", 1)[0] and len(states[-1].parts) == 2
    assert result.checksum == ours


_CRASHING_CHILD = """
import os, sys
from pathlib import Path
from app.services.storage import S3Config, S3Uploader, UploadOptions, make_client

endpoint, bucket, path, key, state_file = sys.argv[1:]
config = S3Config(bucket=bucket, endpoint_url=endpoint, region="us-east-1", path_style=True,
                  credentials="chain")

def persist(state):
    Path(state_file).write_text(state.to_json())
    if len(state.parts) == 2:
        os._exit(137)  # no finally, no abort: as abrupt as SIGKILL

uploader = S3Uploader(make_client(config), config, UploadOptions(part_size=5 << 20, concurrency=1))
uploader.upload_file(Path(path), key, on_state=persist)
"""


def test_resume_after_the_process_really_dies(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    path = make_file(tmp_path / "f.gz", 3 * PART + 1, seed=21)
    state_file = tmp_path / "task-row.json"
    key = "ingest-desk/ds/2026-01-01/t9/f.gz"
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            _CRASHING_CHILD,
            moto.endpoint,
            bucket,
            str(path),
            key,
            str(state_file),
        ],
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
        check=False,
    )
    assert child.returncode == 137
    saved = UploadState.from_json(state_file.read_text())
    assert len(saved.parts) == 2
    up = uploader(moto.endpoint, bucket)
    sent = _record_parts(up.client)
    result = up.upload_file(path, key, resume=saved)
    assert sorted(sent) == [3, 4] and result.parts_reused == 2
    assert up.client.get_object(Bucket=bucket, Key=key)["Body"].read() == path.read_bytes()
    assert up.open_uploads() == ()
