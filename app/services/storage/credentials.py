"""S3 connection settings and the boto3 client; credentials from a profile, keyring or chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import boto3
import keyring
from botocore.config import Config
from botocore.exceptions import ProfileNotFound
from keyring.errors import KeyringError

from app.services.settings import Settings
from app.services.storage.errors import S3CredentialsError, S3EndpointUrlError

# boto3 clients are generated at run time; without boto3-stubs the honest type is Any.
S3Client = Any

KEYRING_SERVICE = "ingest-desk"
KEYRING_ACCESS_KEY = "s3_access_key_id"
KEYRING_SECRET_KEY = "s3_secret_access_key"

SseMode = Literal["none", "AES256", "aws:kms"]
CredentialSource = Literal["auto", "chain", "profile", "keyring"]


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where to upload and how to connect; non-secret, built from Settings."""

    bucket: str
    prefix: str = "ingest-desk"
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    path_style: bool = False
    sse: SseMode = "none"
    kms_key_id: str | None = None
    # "auto": a named profile when one is set, else keyring secrets when stored, else the chain.
    credentials: CredentialSource = "auto"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_pool_connections: int = 16

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> S3Config:
        if not settings.s3_bucket:
            raise ValueError("no S3 bucket is configured (s3_bucket)")
        values: dict[str, Any] = {
            "bucket": settings.s3_bucket,
            "prefix": settings.s3_prefix,
            "endpoint_url": settings.s3_endpoint_url,
            "region": settings.s3_region,
            "profile": settings.s3_profile,
            "path_style": settings.s3_path_style,
            "sse": settings.s3_sse,
            "kms_key_id": settings.s3_kms_key_id,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def where(self) -> str:
        return self.endpoint_url or "AWS S3"

    def sse_arguments(self) -> dict[str, str]:
        """Extra CreateMultipartUpload/PutObject arguments for server-side encryption."""
        if self.sse == "AES256":
            return {"ServerSideEncryption": "AES256"}
        if self.sse == "aws:kms":
            args = {"ServerSideEncryption": "aws:kms"}
            if self.kms_key_id:
                args["SSEKMSKeyId"] = self.kms_key_id
            return args
        return {}


@dataclass(frozen=True, slots=True)
class KeyringCredentials:
    access_key_id: str
    secret_access_key: str


def keyring_credentials() -> KeyringCredentials | None:
    """The access key pair stored in the OS keyring, or None when absent or no keyring works."""
    try:
        access = keyring.get_password(KEYRING_SERVICE, KEYRING_ACCESS_KEY)
        secret = keyring.get_password(KEYRING_SERVICE, KEYRING_SECRET_KEY)
    except KeyringError:
        # A machine without a usable keyring falls back to boto3's own chain.
        return None
    if access and secret:
        return KeyringCredentials(access, secret)
    return None


def store_keyring_credentials(access_key_id: str, secret_access_key: str) -> None:
    keyring.set_password(KEYRING_SERVICE, KEYRING_ACCESS_KEY, access_key_id)
    keyring.set_password(KEYRING_SERVICE, KEYRING_SECRET_KEY, secret_access_key)


def make_session(config: S3Config) -> boto3.session.Session:
    source = config.credentials
    if source == "profile" or (source == "auto" and config.profile):
        if not config.profile:
            raise ValueError("credentials='profile' needs a profile name (s3_profile)")
        return boto3.session.Session(profile_name=config.profile, region_name=config.region)
    if source in ("keyring", "auto"):
        stored = keyring_credentials()
        if stored is not None:
            return boto3.session.Session(
                aws_access_key_id=stored.access_key_id,
                aws_secret_access_key=stored.secret_access_key,
                region_name=config.region,
            )
        if source == "keyring":
            raise ValueError("credentials='keyring' but no S3 key pair is stored in the keyring")
    return boto3.session.Session(region_name=config.region)


def make_client(config: S3Config, session: boto3.session.Session | None = None) -> S3Client:
    """A client with botocore's own retries off: the uploader retries with its own policy so
    attempts, backoff and the final message are ours and the same for every call."""
    botocore_config = Config(
        s3={"addressing_style": "path" if config.path_style else "auto"},
        signature_version="s3v4",
        retries={"total_max_attempts": 1},
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        max_pool_connections=config.max_pool_connections,
        # We send each part's checksum ourselves; botocore computing another would cost a pass.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        tcp_keepalive=True,
    )
    try:
        session = session or make_session(config)
    except ProfileNotFound as exc:
        raise S3CredentialsError(f"The AWS profile {config.profile!r} does not exist") from exc
    try:
        client: S3Client = session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region or "us-east-1",
            config=botocore_config,
        )
    except ValueError as exc:
        # botocore's "Invalid endpoint: host:9000" (no scheme, or not a URL at all).
        raise S3EndpointUrlError(
            f"The S3 endpoint URL {config.endpoint_url!r} cannot be used"
        ) from exc
    return client
