"""Connecting: credentials from chain, profile or keyring; bad keys, no bucket, dead endpoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.services.settings import Settings
from app.services.storage import (
    KEYRING_ACCESS_KEY,
    KEYRING_SECRET_KEY,
    KEYRING_SERVICE,
    S3BucketNotFoundError,
    S3Config,
    S3CredentialsError,
    S3EndpointUnreachableError,
    S3Uploader,
    keyring_credentials,
    make_client,
    store_keyring_credentials,
)

from .conftest import MemoryKeyring, MotoServer, free_port, make_file, options, s3_config, uploader


@pytest.fixture(scope="module")
def auth_moto() -> Iterator[tuple[MotoServer, str, str, str]]:
    """A second moto that checks keys and signatures (IAM), with one user allowed everything."""
    # The first three requests set up the user without auth; every later one is checked.
    server = MotoServer(INITIAL_NO_AUTH_ACTION_COUNT="3")
    iam = boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="uploader")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="uploader", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="uploader")["AccessKey"]
    bucket = f"auth-{uuid.uuid4().hex[:10]}"
    good = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    good.create_bucket(Bucket=bucket)
    yield server, bucket, key["AccessKeyId"], key["SecretAccessKey"]
    server.stop()


def _upload_with_keyring(
    server: MotoServer,
    bucket: str,
    backend: MemoryKeyring,
    access: str,
    secret: str,
    path: Path,
    *,
    sent: list[str] | None = None,
) -> S3Uploader:
    backend.set_password(KEYRING_SERVICE, KEYRING_ACCESS_KEY, access)
    backend.set_password(KEYRING_SERVICE, KEYRING_SECRET_KEY, secret)
    cfg = s3_config(server.endpoint, bucket, credentials="keyring")
    up = S3Uploader(make_client(cfg), cfg, options())
    if sent is not None:
        _count_requests(up, sent)
    up.upload_file(path, "ingest-desk/ds/f.gz")
    return up


def test_keyring_credentials_are_used(
    auth_moto: tuple[MotoServer, str, str, str],
    isolated_credentials: MemoryKeyring,
    tmp_path: Path,
) -> None:
    server, bucket, access, secret = auth_moto
    up = _upload_with_keyring(
        server, bucket, isolated_credentials, access, secret, make_file(tmp_path / "f.gz", 1000)
    )
    assert up.client.head_object(Bucket=bucket, Key="ingest-desk/ds/f.gz")["ContentLength"] == 1000


def test_unknown_access_key_gives_a_credentials_message(
    auth_moto: tuple[MotoServer, str, str, str],
    isolated_credentials: MemoryKeyring,
    tmp_path: Path,
) -> None:
    server, bucket, _, _ = auth_moto
    with pytest.raises(S3CredentialsError) as caught:
        _upload_with_keyring(
            server,
            bucket,
            isolated_credentials,
            "AKIANOSUCHKEY0000000",
            "whatever",
            make_file(tmp_path / "f.gz", 1000),
        )
    assert "InvalidAccessKeyId" in str(caught.value)
    assert "Settings" in caught.value.user_message


def test_wrong_secret_gives_a_credentials_message(
    auth_moto: tuple[MotoServer, str, str, str],
    isolated_credentials: MemoryKeyring,
    tmp_path: Path,
) -> None:
    server, bucket, access, _ = auth_moto
    path = make_file(tmp_path / "f.gz", 1000)
    sent: list[str] = []
    with pytest.raises(S3CredentialsError) as caught:
        _upload_with_keyring(
            server, bucket, isolated_credentials, access, "wrong-secret", path, sent=sent
        )
    assert "SignatureDoesNotMatch" in str(caught.value)
    # Refused credentials are final: no request went out twice.
    assert sent and len(sent) == len(set(sent)), sent


def test_wrong_credentials_with_a_content_hash_still_say_why(
    auth_moto: tuple[MotoServer, str, str, str], tmp_path: Path
) -> None:
    # With a hash the first request is a HEAD (is it there already?), whose answer has no body.
    server, bucket, _, _ = auth_moto
    cfg = s3_config(server.endpoint, bucket)
    session = boto3.session.Session(
        aws_access_key_id="AKIANOSUCHKEY0000001", aws_secret_access_key="x", region_name="us-east-1"
    )
    up = S3Uploader(make_client(cfg, session), cfg, options())
    with pytest.raises(S3CredentialsError, match="InvalidAccessKeyId"):
        up.upload_file(make_file(tmp_path / "f.gz", 10), "ingest-desk/ds/f.gz", sha256="ab" * 32)


def test_named_profile(
    moto: MotoServer, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        "[desk]\naws_access_key_id = profile-key\naws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    up = uploader(moto.endpoint, bucket, profile="desk", credentials="auto")
    assert up.client._request_signer._credentials.access_key == "profile-key"
    up.upload_file(make_file(tmp_path / "f.gz", 10), "ingest-desk/ds/f.gz")


def test_auto_prefers_keyring_over_the_chain(isolated_credentials: MemoryKeyring) -> None:
    assert keyring_credentials() is None
    store_keyring_credentials("kr-key", "kr-secret")
    client = make_client(S3Config(bucket="b", endpoint_url="http://127.0.0.1:9"))
    assert client._request_signer._credentials.access_key == "kr-key"
    chain = make_client(
        S3Config(bucket="b", endpoint_url="http://127.0.0.1:9", credentials="chain")
    )
    assert chain._request_signer._credentials.access_key == "testing"


def test_config_from_settings() -> None:
    settings = Settings(
        s3_bucket="bk",
        s3_endpoint_url="http://minio:9000",
        s3_path_style=True,
        s3_sse="aws:kms",
        s3_kms_key_id="key-1",
        s3_prefix="p",
    )
    cfg = S3Config.from_settings(settings, connect_timeout_s=1.0)
    assert (cfg.bucket, cfg.prefix, cfg.path_style, cfg.connect_timeout_s) == ("bk", "p", True, 1.0)
    assert cfg.sse_arguments() == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1"}
    with pytest.raises(ValueError):
        S3Config.from_settings(Settings(s3_bucket=None))


def test_missing_bucket(moto: MotoServer, tmp_path: Path) -> None:
    up = uploader(moto.endpoint, "no-such-bucket-here")
    with pytest.raises(S3BucketNotFoundError) as caught:
        up.upload_file(make_file(tmp_path / "f.gz", 10), "ingest-desk/ds/f.gz", sha256="cd" * 32)
    assert "'no-such-bucket-here' does not exist" in caught.value.user_message
    with pytest.raises(S3BucketNotFoundError):
        up.check_bucket()


@pytest.mark.parametrize("host", ["127.0.0.1", "10.255.255.1"], ids=["refused", "no-answer"])
def test_unreachable_endpoint_fails_fast(tmp_path: Path, host: str) -> None:
    # Refused: nothing listens on the port any more. No answer: a non-routed address, where
    # only the short connect timeout stops the wait.
    endpoint = f"http://{host}:{free_port()}"
    up = uploader(endpoint, "bucket", connect_timeout_s=0.5)
    sent: list[str] = []
    _count_requests(up, sent)
    with pytest.raises(S3EndpointUnreachableError) as caught:
        up.upload_file(make_file(tmp_path / "f.gz", 10), "ingest-desk/ds/f.gz")
    # Fast means: the short connect timeout is the client's, and a failed connect is tried
    # only connect_attempts times (not the full retry budget) before it is given up.
    assert up.client.meta.config.connect_timeout == 0.5
    policy = options().retry
    assert 1 <= len(sent) <= policy.connect_attempts < policy.attempts, sent
    assert endpoint in caught.value.user_message
    assert "endpoint URL" in caught.value.user_message


def _count_requests(up: S3Uploader, sent: list[str]) -> None:
    """Record every HTTP attempt the client makes (botocore emits before-send for each)."""

    def record(request: Any, **_: Any) -> None:
        sent.append(f"{request.method} {request.url}")

    up.client.meta.events.register("before-send.s3", record)
