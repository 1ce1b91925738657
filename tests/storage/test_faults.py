"""Injected S3 faults through a loopback proxy: 500, 503 SlowDown, resets, corruption, expiry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.domain.transfer import UploadState
from app.services.storage import (
    S3CredentialsError,
    S3IntegrityError,
    S3RetriesExhaustedError,
)

from .conftest import MIB, MotoServer, make_file, options, uploader
from .fault_proxy import Fault, FaultProxy, SeenRequest, any_request, upload_part

PART = 5 * MIB
KEY = "ingest-desk/ds/2026-01-01/t/f.ndjson.gz"


def _file(tmp_path: Path) -> Path:
    return make_file(tmp_path / "f.ndjson.gz", 3 * PART + 1234, seed=5)


def _assert_object_is(up_endpoint: str, bucket: str, path: Path, moto: MotoServer) -> None:
    # Read back around the proxy so a fault still armed cannot interfere.
    direct = uploader(moto.endpoint, bucket)
    body = direct.client.get_object(Bucket=bucket, Key=KEY)["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(path.read_bytes()).digest()
    assert direct.open_uploads() == ()


def _is_create(request: SeenRequest) -> bool:
    return request.method == "POST" and "uploads" in request.query


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalError"), (503, "SlowDown"), (503, "ServiceUnavailable")]
)
def test_transient_answers_are_retried(
    moto: MotoServer, proxy: FaultProxy, bucket: str, tmp_path: Path, status: int, code: str
) -> None:
    path = _file(tmp_path)
    proxy.inject(Fault("status", upload_part(2), times=2, status=status, code=code))
    proxy.inject(Fault("status", _is_create, times=1, status=status, code=code))
    up = uploader(proxy.endpoint, bucket)
    result = up.upload_file(path, KEY)
    assert result.bytes == path.stat().st_size
    assert sorted(proxy.parts_sent()) == [1, 2, 2, 2, 3, 4]
    _assert_object_is(proxy.endpoint, bucket, path, moto)


def test_connection_reset_mid_part_is_retried(
    moto: MotoServer, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    proxy.inject(Fault("reset", upload_part(3), times=1))
    proxy.inject(Fault("reset", upload_part(1), times=1))
    result = uploader(proxy.endpoint, bucket).upload_file(path, KEY)
    assert result.parts == 4
    assert sorted(proxy.parts_sent()) == [1, 1, 2, 3, 3, 4]
    _assert_object_is(proxy.endpoint, bucket, path, moto)


def test_persistent_slowdown_exhausts_retries_and_aborts_when_asked(
    moto: MotoServer, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    proxy.inject(Fault("status", upload_part(2), times=None, status=503, code="SlowDown"))
    up = uploader(proxy.endpoint, bucket, opts=options(abort_on_failure=True))
    with pytest.raises(S3RetriesExhaustedError) as caught:
        up.upload_file(path, KEY)
    message = caught.value.user_message
    assert "upload part 2" in message and "SlowDown" in message and "resume" in message
    assert proxy.parts_sent().count(2) == 4  # FAST_RETRY's attempts
    direct = uploader(moto.endpoint, bucket)
    assert direct.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_corrupted_part_is_caught_and_the_object_removed(
    moto: MotoServer, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    # Real S3 rejects the damaged part itself (BadDigest); moto stores it, so the object's
    # checksum, which moto computes from the bytes it holds, is what exposes the damage.
    path = _file(tmp_path)
    proxy.inject(Fault("corrupt", upload_part(2), times=1))
    up = uploader(proxy.endpoint, bucket)
    with pytest.raises(S3IntegrityError) as caught:
        up.upload_file(path, KEY)
    assert "checksum" in str(caught.value)
    direct = uploader(moto.endpoint, bucket)
    assert direct.client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_expired_token_is_a_credentials_error_and_not_retried(
    proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    proxy.inject(
        Fault(
            "status",
            _is_create,
            times=None,
            status=400,
            code="ExpiredToken",
            message="The provided token has expired.",
        )
    )
    with pytest.raises(S3CredentialsError) as caught:
        uploader(proxy.endpoint, bucket).upload_file(path, KEY)
    assert "expired" in caught.value.user_message
    assert sum(1 for r in proxy.seen if _is_create(r)) == 1


def test_reset_on_every_request_reports_retries_exhausted(
    proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    path = make_file(tmp_path / "f.gz", 1000)
    proxy.inject(Fault("reset", any_request, times=None))
    with pytest.raises(S3RetriesExhaustedError):
        uploader(proxy.endpoint, bucket).upload_file(path, KEY)


def test_a_failure_keeps_the_upload_for_a_later_resume_by_default(
    moto: MotoServer, proxy: FaultProxy, bucket: str, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    proxy.inject(Fault("status", upload_part(4), times=None, status=500))
    keep = uploader(proxy.endpoint, bucket, opts=options(concurrency=1))
    states: list[UploadState] = []
    with pytest.raises(S3RetriesExhaustedError):
        keep.upload_file(path, KEY, on_state=states.append)
    proxy.clear()
    result = uploader(proxy.endpoint, bucket).upload_file(path, KEY, resume=states[-1])
    assert result.resumed and result.parts_reused == 3
    assert proxy.parts_sent() == [4]
    _assert_object_is(proxy.endpoint, bucket, path, moto)
