"""S3 errors in terms a user can act on, and the rule for which failures are worth retrying."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
        "AuthorizationHeaderMalformed",
    }
)
THROTTLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
)
# Codes S3 documents as "try again": server trouble, or a part damaged in transit (the retry
# resends the same bytes we checksummed).
TRANSIENT_CODES = THROTTLE_CODES | frozenset(
    {"InternalError", "ServiceUnavailable", "RequestTimeout", "BadDigest", "OperationAborted"}
)


class StorageError(Exception):
    """Base for everything the storage service raises on purpose; str() is the user's message."""

    hint: str = ""

    @property
    def user_message(self) -> str:
        return f"{self}. {self.hint}" if self.hint else str(self)


class S3CredentialsError(StorageError):
    hint = (
        "Check the access key and secret in Settings (or the AWS profile), and renew the "
        "session if it uses temporary credentials."
    )


class S3AccessDeniedError(StorageError):
    hint = "The credentials work but may not write to this bucket or prefix; ask for s3:PutObject."


class S3BucketNotFoundError(StorageError):
    hint = "Check the bucket name and region in Settings."


class S3EndpointUnreachableError(StorageError):
    hint = "Check the S3 endpoint URL in Settings and the network connection."


class S3EndpointUrlError(StorageError):
    """The endpoint URL cannot be used as written (botocore says "Invalid endpoint")."""

    hint = (
        "Add http:// or https:// at the start of the S3 endpoint URL (e.g. "
        "https://minio.example.com:9000), or leave it empty for AWS S3."
    )


class S3RetriesExhaustedError(StorageError):
    hint = (
        "The storage service kept failing; retry the task (or add the file again) to resume "
        "the upload from where it stopped."
    )


class S3IntegrityError(StorageError):
    hint = "The uploaded object did not match the local file and was removed; try again."


class S3RequestError(StorageError):
    """S3 refused a request for a reason not covered above; the message is S3's own."""


class UploadCancelledError(StorageError):
    """The user cancelled; the multipart upload was aborted."""


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_connect_failure(exc: BaseException) -> bool:
    """No connection was made at all: the endpoint is down, wrong, or unreachable."""
    return isinstance(exc, EndpointConnectionError | ConnectTimeoutError)


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: throttling, 5xx, timeouts and connections cut mid-request."""
    if isinstance(exc, ClientError):
        return error_code(exc) in TRANSIENT_CODES or http_status(exc) >= 500
    # HTTPClientError covers resets, closed connections and read timeouts; botocore's
    # ConnectionError covers refused connections and connect timeouts.
    return isinstance(exc, HTTPClientError | BotoConnectionError | ConnectionError)


def translate(exc: BaseException, *, bucket: str, endpoint: str, action: str) -> StorageError:
    """The specific StorageError for a boto failure after any retries are spent."""
    if isinstance(exc, StorageError):
        return exc
    where = endpoint or "AWS S3"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | ProfileNotFound):
        return S3CredentialsError(f"No usable S3 credentials: {exc}")
    if is_connect_failure(exc):
        return S3EndpointUnreachableError(f"Cannot reach the S3 endpoint {where}")
    code = error_code(exc)
    message = ""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", "") or "")
    if code in CREDENTIAL_CODES:
        if code.startswith("Expired") or code == "TokenRefreshRequired":
            return S3CredentialsError(f"The S3 credentials have expired ({code})")
        return S3CredentialsError(f"S3 rejected the credentials ({code}) at {where}")
    if code == "NoSuchBucket":
        return S3BucketNotFoundError(f"The bucket {bucket!r} does not exist at {where}")
    if code == "AccessDenied" or http_status(exc) == 403:
        return S3AccessDeniedError(f"Access denied to bucket {bucket!r} while trying to {action}")
    if is_transient(exc):
        detail = f"{code}: {message}" if code else type(exc).__name__
        return S3RetriesExhaustedError(f"S3 kept failing while trying to {action} ({detail})")
    if isinstance(exc, ClientError):
        return S3RequestError(f"S3 refused to {action}: {code} {message}".rstrip())
    if isinstance(exc, BotoCoreError):
        return S3RequestError(f"S3 request failed while trying to {action}: {exc}")
    return S3RequestError(f"Unexpected failure while trying to {action}: {exc!r}")
