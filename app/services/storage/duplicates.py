"""S3-side duplicate check: a small marker object per (datasource, content hash) uploaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from app.domain.transfer import UploadResult
from app.services.storage.credentials import S3Client, S3Config
from app.services.storage.errors import error_code
from app.services.storage.keys import hash_marker_key
from app.services.storage.retry import RetryPolicy, call_with_retry


@dataclass(frozen=True, slots=True)
class PreviousUpload:
    """An earlier upload of the same content into the same datasource."""

    uri: str
    task_id: str | None
    bytes: int | None
    uploaded_at: datetime | None


class UploadIndex:
    """Records and finds uploads by content hash within a datasource.

    A marker at `{prefix}/_by-sha256/{datasource}/{sha256}` rather than a listing: object keys
    carry the task id, so the same content from another task has another key, and listing a
    datasource's prefix grows with its history while one GET of a tiny marker does not. The
    marker only says "uploaded"; whether Druid ingested it is the task store's answer, which the
    pipeline consults too before asking the user.
    """

    def __init__(
        self, client: S3Client, config: S3Config, retry: RetryPolicy | None = None
    ) -> None:
        self.client = client
        self.config = config
        self.retry = retry or RetryPolicy()

    def _call(self, fn: Any, action: str) -> Any:
        return call_with_retry(
            fn, self.retry, action=action, bucket=self.config.bucket, endpoint=self.config.where
        )

    def record(
        self,
        datasource: str,
        sha256: str,
        result: UploadResult,
        *,
        task_id: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Write the marker after a verified upload (idempotent: the same marker again)."""
        body = json.dumps(
            {
                "uri": result.uri,
                "task_id": task_id,
                "bytes": result.bytes,
                "uploaded_at": (now or datetime.now(UTC)).isoformat(),
            }
        ).encode()
        key = hash_marker_key(self.config.prefix, datasource, sha256)
        self._call(
            lambda: self.client.put_object(
                Bucket=self.config.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **self.config.sse_arguments(),
            ),
            "record the upload",
        )

    def find(self, datasource: str, sha256: str) -> PreviousUpload | None:
        """The earlier upload of this content into this datasource, or None."""
        key = hash_marker_key(self.config.prefix, datasource, sha256)

        def fetch() -> bytes | None:
            try:
                response = self.client.get_object(Bucket=self.config.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in {"NoSuchKey", "404"}:
                    return None
                raise
            data: bytes = response["Body"].read()
            return data

        raw: bytes | None = self._call(fetch, "check for an earlier upload")
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
            stamp = doc.get("uploaded_at")
            return PreviousUpload(
                uri=str(doc["uri"]),
                task_id=doc.get("task_id"),
                bytes=int(doc["bytes"]) if doc.get("bytes") is not None else None,
                uploaded_at=datetime.fromisoformat(stamp) if stamp else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            # A damaged marker still proves an upload happened; the details are unknown.
            return PreviousUpload(uri="", task_id=None, bytes=None, uploaded_at=None)

    def forget(self, datasource: str, sha256: str) -> None:
        """Remove the marker (e.g. after the user deleted the data from Druid)."""
        key = hash_marker_key(self.config.prefix, datasource, sha256)
        self._call(
            lambda: self.client.delete_object(Bucket=self.config.bucket, Key=key),
            "forget the upload",
        )
