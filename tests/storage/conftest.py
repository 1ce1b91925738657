"""S3 test fixtures: moto's standalone server over HTTP, a fault proxy, an in-memory keyring."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.storage import RetryPolicy, S3Config, S3Uploader, UploadOptions, make_client
from tests.support.credentials import (
    MemoryKeyring,
    memory_keyring_installed,
    without_aws_credentials,
)
from tests.support.waiting import WaitTimedOut, wait_until

from .fault_proxy import FaultProxy

MIB = 1024 * 1024
TEST_KEY_ID = "testing"
TEST_SECRET = "testing-secret"
# Short waits so a fault test retries in milliseconds, not seconds.
FAST_RETRY = RetryPolicy(attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, connect_attempts=2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """`moto_server` in its own process, as in the dev stack, so it does not share our GIL."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        moto = Path(sys.executable).parent / "moto_server"
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(self._listening, timeout=20, what="moto_server accepted connections")
        except (WaitTimedOut, RuntimeError):
            self.stop()
            raise RuntimeError("moto_server did not start") from None

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("moto_server exited at start")
        try:
            # Not /moto-api/: a request there would count against INITIAL_NO_AUTH_ACTION_COUNT.
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()




@pytest.fixture(autouse=True)
def isolated_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MemoryKeyring]:
    """No real AWS files, environment credentials or OS keyring leak into a test."""
    without_aws_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET)
    with memory_keyring_installed() as backend:
        yield backend


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(("127.0.0.1", moto.port)).start()
    yield fault_proxy
    fault_proxy.stop()


def s3_config(endpoint: str, bucket: str, **overrides: Any) -> S3Config:
    values: dict[str, Any] = {
        "bucket": bucket,
        "prefix": "ingest-desk",
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "path_style": True,
        "credentials": "chain",
        "connect_timeout_s": 2.0,
        "read_timeout_s": 10.0,
    }
    values.update(overrides)
    return S3Config(**values)


def options(**overrides: Any) -> UploadOptions:
    """S3's smallest parts (5 MiB) keep test files small; retries wait milliseconds."""
    values: dict[str, Any] = {"part_size": 5 * MIB, "retry": FAST_RETRY}
    values.update(overrides)
    return UploadOptions(**values)


def uploader(
    endpoint: str, bucket: str, *, opts: UploadOptions | None = None, **config: Any
) -> S3Uploader:
    cfg = s3_config(endpoint, bucket, **config)
    return S3Uploader(make_client(cfg), cfg, opts or options())


@pytest.fixture
def bucket(moto: MotoServer) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    client = make_client(s3_config(moto.endpoint, name))
    client.create_bucket(Bucket=name)
    yield name
    # Empty and drop it so moto's memory stays flat across the session.
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


def make_file(path: Path, size: int, seed: int = 7) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path
