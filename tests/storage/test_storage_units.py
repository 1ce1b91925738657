"""Pure parts of the storage service: keys, speed/ETA maths, resume state, error translation."""

from __future__ import annotations

import base64
import zlib
from datetime import date

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from app.domain.transfer import CompletedPart, UploadState
from app.services.storage import (
    S3AccessDeniedError,
    S3BucketNotFoundError,
    S3CredentialsError,
    S3EndpointUnreachableError,
    S3RequestError,
    S3RetriesExhaustedError,
    TransferRate,
    composite_checksum,
    datasource_prefix,
    hash_marker_key,
    object_key,
    parse_s3_uri,
    part_size_for,
    s3_uri,
)
from app.services.storage.errors import is_transient, translate

SHA = "ab" * 32


def test_object_key_is_deterministic_and_shaped() -> None:
    key = object_key("ingest-desk/", "sales", date(2026, 3, 4), "t-42", SHA.upper(), ".ndjson.gz")
    assert key == f"ingest-desk/sales/2026-03-04/t-42/{SHA[:16]}.ndjson.gz"
    assert key == object_key("/ingest-desk", "sales", date(2026, 3, 4), "t-42", SHA, "ndjson.gz")


def test_object_key_keeps_segments_inside_their_folder() -> None:
    key = object_key("a//b", "../sales/eu", date(2026, 1, 1), "x/y", SHA, "parquet")
    assert key.startswith("a/b/sales_eu/2026-01-01/x_y/")
    assert ".." not in key
    assert object_key("", "ds", date(2026, 1, 1), "t", SHA, "parquet").startswith("ds/")


@pytest.mark.parametrize(
    ("datasource", "sha", "ext"), [("", SHA, "gz"), ("ds", "nothex", "gz"), ("ds", SHA, "a/b")]
)
def test_object_key_rejects_bad_input(datasource: str, sha: str, ext: str) -> None:
    with pytest.raises(ValueError):
        object_key("p", datasource, date(2026, 1, 1), "t", sha, ext)


def test_marker_lives_beside_the_datasource_folder() -> None:
    marker = hash_marker_key("ingest-desk", "sales", SHA)
    assert marker == f"ingest-desk/_by-sha256/sales/{SHA}"
    assert not marker.startswith(datasource_prefix("ingest-desk", "sales"))


def test_uri_round_trip() -> None:
    assert parse_s3_uri(s3_uri("b", "k/x.gz")) == ("b", "k/x.gz")
    with pytest.raises(ValueError):
        parse_s3_uri("http://b/k")


def test_rate_uses_a_moving_window() -> None:
    rate = TransferRate(1000, window_s=2.0, min_span_s=0.0)
    assert rate.bytes_per_second is None
    rate.update(0, 0.0)
    rate.update(100, 1.0)
    rate.update(200, 2.0)
    assert rate.bytes_per_second == pytest.approx(100.0)
    assert rate.eta_seconds == pytest.approx(8.0)
    # The link speeds up: after the window slides, the old slow samples no longer count.
    rate.update(600, 3.0)
    rate.update(1000, 4.0)
    assert rate.bytes_per_second == pytest.approx(400.0)
    assert rate.eta_seconds == 0.0


def test_rate_reports_nothing_for_too_short_a_span_and_never_negative() -> None:
    rate = TransferRate(1000, window_s=5.0, min_span_s=0.5)
    rate.update(0, 10.0)
    rate.update(100, 10.1)
    assert rate.bytes_per_second is None
    assert rate.eta_seconds is None
    rate.update(50, 11.0)  # a retried part rewinds the count
    assert rate.bytes_per_second == 50.0
    rate.update(0, 12.0)
    assert rate.bytes_per_second == 0.0
    assert rate.eta_seconds is None
    with pytest.raises(ValueError):
        rate.update(10, 1.0)


def test_snapshot_carries_progress() -> None:
    rate = TransferRate(400, window_s=5.0, min_span_s=0.0)
    rate.update(0, 0.0)
    rate.update(100, 1.0)
    snap = rate.snapshot(1, 4)
    assert (snap.bytes_sent, snap.total_bytes, snap.parts_done, snap.parts_total) == (
        100,
        400,
        1,
        4,
    )
    assert snap.fraction == 0.25
    assert snap.eta_seconds == pytest.approx(3.0)


def test_upload_state_round_trips_through_json() -> None:
    state = UploadState("b", "k", "up-1", 8 << 20, 20 << 20, "CRC32")
    state = state.with_part(CompletedPart(2, '"e2"', "c2==", 8 << 20))
    state = state.with_part(CompletedPart(1, '"e1"', "c1==", 8 << 20))
    state = state.with_part(CompletedPart(2, '"e2b"', "c2b=", 8 << 20))
    assert [p.number for p in state.parts] == [1, 2]
    assert state.parts[1].etag == '"e2b"'
    assert state.bytes_done == 16 << 20
    assert UploadState.from_json(state.to_json()) == state


def test_part_size_grows_only_past_ten_thousand_parts() -> None:
    assert part_size_for(100 << 20, 8 << 20) == 8 << 20
    big = 200 * (1 << 30)
    size = part_size_for(big, 8 << 20)
    assert size % (1 << 20) == 0
    assert -(-big // size) <= 10_000


def test_composite_checksum_matches_s3s_rule() -> None:
    parts = (b"a" * 10, b"b" * 3)
    digests = [zlib.crc32(p).to_bytes(4, "big") for p in parts]
    completed = tuple(
        CompletedPart(i + 1, "e", base64.b64encode(d).decode(), 1) for i, d in enumerate(digests)
    )
    expected = base64.b64encode(zlib.crc32(b"".join(digests)).to_bytes(4, "big")).decode()
    assert composite_checksum("CRC32", completed) == f"{expected}-2"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "UploadPart",
    )


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (_client_error("InvalidAccessKeyId", 403), S3CredentialsError, "rejected the credentials"),
        (_client_error("SignatureDoesNotMatch", 403), S3CredentialsError, "SignatureDoesNotMatch"),
        (_client_error("ExpiredToken", 400), S3CredentialsError, "expired"),
        (_client_error("NoSuchBucket", 404), S3BucketNotFoundError, "'bkt' does not exist"),
        (_client_error("AccessDenied", 403), S3AccessDeniedError, "Access denied"),
        (_client_error("SlowDown", 503), S3RetriesExhaustedError, "SlowDown"),
        (_client_error("InternalError", 500), S3RetriesExhaustedError, "kept failing"),
        (_client_error("EntityTooSmall", 400), S3RequestError, "EntityTooSmall"),
        (EndpointConnectionError(endpoint_url="http://x"), S3EndpointUnreachableError, "reach"),
        (ReadTimeoutError(endpoint_url="http://x"), S3RetriesExhaustedError, "ReadTimeoutError"),
    ],
)
def test_translate_gives_specific_errors(exc: Exception, kind: type, words: str) -> None:
    error = translate(exc, bucket="bkt", endpoint="http://s3", action="upload part 1")
    assert type(error) is kind
    assert words in str(error)
    assert error.user_message.startswith(str(error))


def test_transient_rule() -> None:
    assert is_transient(_client_error("SlowDown", 503))
    assert is_transient(_client_error("Whatever", 502))
    assert is_transient(ConnectionResetError())
    assert not is_transient(_client_error("InvalidAccessKeyId", 403))
    assert not is_transient(ValueError())


def test_part_body_counts_bytes_as_they_are_read_and_uncounts_on_rewind() -> None:
    from app.services.storage.parts import PartBody

    positions: list[int] = []
    body = PartBody(b"x" * 100, positions.append)
    assert len(body) == 100
    assert body.read(30) == b"x" * 30
    assert body.read(100) == b"x" * 70
    assert body.read(10) == b""
    body.seek(0)
    assert body.tell() == 0
    assert positions == [30, 100, 100, 0]
