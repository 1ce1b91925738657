"""S3 staging upload: deterministic keys, resumable multipart transfer, duplicate markers."""

from app.services.storage.credentials import (
    KEYRING_ACCESS_KEY,
    KEYRING_SECRET_KEY,
    KEYRING_SERVICE,
    S3Client,
    S3Config,
    keyring_credentials,
    make_client,
    make_session,
    store_keyring_credentials,
)
from app.services.storage.duplicates import PreviousUpload, UploadIndex
from app.services.storage.errors import (
    S3AccessDeniedError,
    S3BucketNotFoundError,
    S3CredentialsError,
    S3EndpointUnreachableError,
    S3EndpointUrlError,
    S3IntegrityError,
    S3RequestError,
    S3RetriesExhaustedError,
    StorageError,
    UploadCancelledError,
)
from app.services.storage.keys import (
    datasource_prefix,
    hash_marker_key,
    object_key,
    parse_s3_uri,
    s3_uri,
)
from app.services.storage.parts import composite_checksum, part_size_for
from app.services.storage.progress import TransferRate
from app.services.storage.retry import RetryPolicy
from app.services.storage.transfer import (
    CancelCheck,
    OpenUpload,
    S3Uploader,
    UploadOptions,
)

__all__ = [
    "KEYRING_ACCESS_KEY",
    "KEYRING_SECRET_KEY",
    "KEYRING_SERVICE",
    "CancelCheck",
    "OpenUpload",
    "PreviousUpload",
    "RetryPolicy",
    "S3AccessDeniedError",
    "S3BucketNotFoundError",
    "S3Client",
    "S3Config",
    "S3CredentialsError",
    "S3EndpointUnreachableError",
    "S3EndpointUrlError",
    "S3IntegrityError",
    "S3RequestError",
    "S3RetriesExhaustedError",
    "S3Uploader",
    "StorageError",
    "TransferRate",
    "UploadCancelledError",
    "UploadIndex",
    "UploadOptions",
    "composite_checksum",
    "datasource_prefix",
    "hash_marker_key",
    "keyring_credentials",
    "make_client",
    "make_session",
    "object_key",
    "parse_s3_uri",
    "part_size_for",
    "s3_uri",
    "store_keyring_credentials",
]
