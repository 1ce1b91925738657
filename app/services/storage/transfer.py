"""Multipart upload to S3: parallel parts with checksums, byte progress, cancel, resume, verify."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from app.domain.transfer import (
    ChecksumAlgorithm,
    CompletedPart,
    UploadProgress,
    UploadResult,
    UploadState,
)
from app.services.storage.credentials import S3Client, S3Config
from app.services.storage.errors import (
    S3IntegrityError,
    StorageError,
    UploadCancelledError,
    error_code,
    http_status,
)
from app.services.storage.keys import s3_uri
from app.services.storage.parts import (
    MIB,
    MIN_PART_SIZE,
    ByteCounter,
    PartBody,
    composite_checksum,
    digest,
    part_size_for,
    plan_parts,
    provable_parts,
)
from app.services.storage.progress import TransferRate
from app.services.storage.retry import RetryPolicy, call_with_retry

log = logging.getLogger("app.services.storage")

SHA256_METADATA = "sha256"  # x-amz-meta-sha256: the whole file's hash, for duplicates and audits

CancelCheck = Callable[[], bool] | threading.Event
ProgressCallback = Callable[[UploadProgress], None]
StateCallback = Callable[[UploadState], None]


@dataclass(frozen=True, slots=True)
class UploadOptions:
    part_size: int = 8 * MIB
    concurrency: int = 4
    checksum_algorithm: ChecksumAlgorithm = "CRC32"
    progress_interval_s: float = 0.1
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Off: a failed upload keeps its parts, so a retry resumes it; whoever gives it up aborts
    # it (a cancel, the sweep of abandoned uploads, `doctor --abort-uploads`).
    abort_on_failure: bool = False

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


@dataclass(frozen=True, slots=True)
class OpenUpload:
    key: str
    upload_id: str
    initiated: datetime | None = None  # when S3 says the upload started


def _is_cancelled(cancel: CancelCheck | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return cancel()


class S3Uploader:
    """Uploads one file per call as a multipart upload; safe to reuse across files and threads."""

    def __init__(
        self, client: S3Client, config: S3Config, options: UploadOptions | None = None
    ) -> None:
        self.client = client
        self.config = config
        self.options = options or UploadOptions()

    # -- public ---------------------------------------------------------------------------

    def upload_file(
        self,
        path: Path,
        key: str,
        *,
        sha256: str | None = None,
        metadata: Mapping[str, str] | None = None,
        resume: UploadState | None = None,
        on_progress: ProgressCallback | None = None,
        on_state: StateCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> UploadResult:
        """Upload `path` to `key`, continuing `resume` when given; callbacks run on this thread.

        `on_state` fires once the upload id exists and after every acknowledged part: persist
        it, and pass it back as `resume` after a crash. A cancel (honoured between parts)
        aborts the multipart upload; a failure only with `abort_on_failure`; a crash never.
        """
        total = path.stat().st_size
        if sha256:
            existing = self._existing_result(key, total, sha256)
            if existing is not None:
                if resume is not None:
                    # The crash came after S3 completed it; an open twin would be an orphan.
                    self._abort_quietly(resume)
                return existing
        state = self._start_or_resume(path, key, total, sha256, metadata, resume)
        reused = len(state.parts)
        if on_state is not None:
            on_state(state)
        try:
            state = self._upload_parts(path, state, on_progress, on_state, cancel)
            resumed = resume is not None and resume.upload_id == state.upload_id
            result = self._complete(state, resumed=resumed, reused=reused)
        except UploadCancelledError:
            self._abort_quietly(state)
            raise
        except Exception:
            if self.options.abort_on_failure:
                self._abort_quietly(state)
            raise
        if on_progress is not None:
            on_progress(UploadProgress(total, total, len(state.parts), len(state.parts), None, 0.0))
        return result

    def abort(self, upload: UploadState | OpenUpload) -> None:
        """Abort a multipart upload (idempotent: an upload already gone counts as aborted)."""
        self._abort(upload.key, upload.upload_id)

    def open_uploads(self, prefix: str | None = None) -> tuple[OpenUpload, ...]:
        """Multipart uploads still open under `prefix` (default: the configured prefix)."""
        found: list[OpenUpload] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        where = self.config.prefix if prefix is None else prefix
        pages = self._call(
            lambda: list(paginator.paginate(Bucket=self.config.bucket, Prefix=where)),
            "list open uploads",
        )
        for page in pages:
            found.extend(
                OpenUpload(u["Key"], u["UploadId"], u.get("Initiated"))
                for u in page.get("Uploads", [])
            )
        return tuple(found)

    def check_bucket(self) -> None:
        """Raise the specific StorageError when the bucket, credentials or endpoint are wrong."""
        # A listing rather than HeadBucket: HEAD answers carry no error code to explain a refusal.
        self._call(
            lambda: self.client.list_objects_v2(
                Bucket=self.config.bucket, Prefix=self.config.prefix, MaxKeys=1
            ),
            "open the bucket",
        )

    # -- steps ----------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], action: str) -> Any:
        return call_with_retry(
            fn,
            self.options.retry,
            action=action,
            bucket=self.config.bucket,
            endpoint=self.config.where,
        )

    def _head(self, key: str) -> dict[str, Any] | None:
        def head() -> dict[str, Any] | None:
            try:
                response: dict[str, Any] = self.client.head_object(
                    Bucket=self.config.bucket, Key=key, ChecksumMode="ENABLED"
                )
            except ClientError as exc:
                if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                    return None
                if http_status(exc) in {400, 403}:
                    # A HEAD answer has no body, so no error code: a ranged GET says whether
                    # the key, its expiry or a permission is the problem (and raises that).
                    self.client.get_object(Bucket=self.config.bucket, Key=key, Range="bytes=0-0")
                raise
            return response

        result: dict[str, Any] | None = self._call(head, "read the object's details")
        return result

    def _existing_result(self, key: str, total: int, sha256: str) -> UploadResult | None:
        """The object from an earlier run that completed before its result was saved."""
        head = self._head(key)
        if head is None:
            return None
        if (
            head.get("ContentLength") != total
            or head.get("Metadata", {}).get(SHA256_METADATA) != sha256.lower()
        ):
            return None
        algorithm: ChecksumAlgorithm = self.options.checksum_algorithm
        if not head.get(f"Checksum{algorithm}") and head.get("ChecksumSHA256"):
            algorithm = "SHA256"  # uploaded earlier with the other algorithm
        etag = str(head.get("ETag", "")).strip('"')
        checksum = str(head.get(f"Checksum{algorithm}") or "")
        # Some stores (moto among them) drop the "-<parts>" suffix; the ETag keeps it.
        parts = _parts_in(checksum) or _parts_in(etag) or 1
        if checksum and not _parts_in(checksum):
            checksum = f"{checksum}-{parts}"
        return UploadResult(
            bucket=self.config.bucket,
            key=key,
            uri=s3_uri(self.config.bucket, key),
            bytes=total,
            checksum_algorithm=algorithm,
            checksum=checksum,
            parts=parts,
            resumed=True,
            parts_reused=parts,
            etag=etag or None,
        )

    def _start_or_resume(
        self,
        path: Path,
        key: str,
        total: int,
        sha256: str | None,
        metadata: Mapping[str, str] | None,
        resume: UploadState | None,
    ) -> UploadState:
        """A fresh upload, or the saved one with only the parts S3 provably holds."""
        if resume is not None:
            usable = (
                resume.key == key
                and resume.bucket == self.config.bucket
                and resume.total_bytes == total
            )
            if not usable:
                log.info("saved upload %s does not match %s; starting over", resume.upload_id, key)
                self._abort_quietly(resume)
            else:
                listed = self._list_parts(resume)
                if listed is not None:
                    reused = provable_parts(path, resume, listed)
                    return UploadState(
                        resume.bucket,
                        resume.key,
                        resume.upload_id,
                        resume.part_size,
                        resume.total_bytes,
                        resume.checksum_algorithm,
                        tuple(sorted(reused.values(), key=lambda p: p.number)),
                    )
                log.info("upload %s is gone on S3; starting over", resume.upload_id)
        algorithm = self.options.checksum_algorithm
        meta = dict(metadata or {})
        if sha256:
            meta[SHA256_METADATA] = sha256.lower()
        response = self._call(
            lambda: self.client.create_multipart_upload(
                Bucket=self.config.bucket,
                Key=key,
                ChecksumAlgorithm=algorithm,
                Metadata=meta,
                **self.config.sse_arguments(),
            ),
            "start the upload",
        )
        return UploadState(
            bucket=self.config.bucket,
            key=key,
            upload_id=str(response["UploadId"]),
            part_size=part_size_for(total, self.options.part_size),
            total_bytes=total,
            checksum_algorithm=algorithm,
        )

    def _list_parts(self, state: UploadState) -> list[dict[str, Any]] | None:
        """The parts S3 holds for the upload, or None when the upload no longer exists."""

        def list_all() -> list[dict[str, Any]] | None:
            paginator = self.client.get_paginator("list_parts")
            parts: list[dict[str, Any]] = []
            try:
                for page in paginator.paginate(
                    Bucket=state.bucket, Key=state.key, UploadId=state.upload_id
                ):
                    parts.extend(page.get("Parts", []))
            except ClientError as exc:
                if error_code(exc) == "NoSuchUpload":
                    return None
                raise
            return parts

        result: list[dict[str, Any]] | None = self._call(list_all, "list the uploaded parts")
        return result

    def _upload_parts(
        self,
        path: Path,
        state: UploadState,
        on_progress: ProgressCallback | None,
        on_state: StateCallback | None,
        cancel: CancelCheck | None,
    ) -> UploadState:
        plan = plan_parts(state.total_bytes, state.part_size)
        held = {p.number for p in state.parts}
        todo = [(n, off, length) for n, (off, length) in plan if n not in held]
        counter = ByteCounter()
        counter.add_done(state.bytes_done)
        rate = TransferRate(state.total_bytes)
        rate.update(counter.total(), time.monotonic())
        if on_progress is not None:
            # At once, so a resumed upload shows where it starts before the first part lands.
            on_progress(rate.snapshot(len(state.parts), len(plan)))
        interval = self.options.progress_interval_s
        last_emit = 0.0
        failure: BaseException | None = None
        cancelled = False
        in_flight: dict[Future[CompletedPart], int] = {}
        pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="s3-part")
        try:
            queue = iter(todo)
            slots = self.options.concurrency
            while True:
                while not cancelled and failure is None and len(in_flight) < slots:
                    if _is_cancelled(cancel):
                        cancelled = True
                        break
                    item = next(queue, None)
                    if item is None:
                        break
                    future = pool.submit(self._send_part, path, state, *item, counter)
                    in_flight[future] = item[0]
                if not in_flight:
                    break
                done, _ = wait(in_flight, timeout=interval, return_when=FIRST_COMPLETED)
                for future in done:
                    in_flight.pop(future)
                    error = future.exception()
                    if error is not None:
                        failure = failure or error
                        continue
                    part = future.result()
                    state = state.with_part(part)
                    if on_state is not None:
                        on_state(state)
                now = time.monotonic()
                rate.update(counter.total(), now)
                if on_progress is not None and (done or now - last_emit >= interval):
                    last_emit = now
                    on_progress(rate.snapshot(len(state.parts), len(plan)))
        finally:
            # Parts already on the wire finish (cancel is cooperative); queued ones never start.
            pool.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            raise failure
        if cancelled:
            raise UploadCancelledError("The upload was cancelled")
        return state

    def _send_part(
        self,
        path: Path,
        state: UploadState,
        number: int,
        offset: int,
        length: int,
        counter: ByteCounter,
    ) -> CompletedPart:
        with path.open("rb") as source:
            source.seek(offset)
            data = source.read(length)
        if len(data) != length:
            raise S3IntegrityError(f"{path.name} shrank while it was being uploaded")
        algorithm = state.checksum_algorithm
        checksum = base64.b64encode(digest(algorithm, data)).decode()

        def send() -> dict[str, Any]:
            body = PartBody(data, lambda position: counter.set(number, position))
            counter.set(number, 0)
            response: dict[str, Any] = self.client.upload_part(
                Bucket=state.bucket,
                Key=state.key,
                UploadId=state.upload_id,
                PartNumber=number,
                Body=body,
                ContentLength=length,
                ChecksumAlgorithm=algorithm,
                **{f"Checksum{algorithm}": checksum},
            )
            return response

        response = self._call(send, f"upload part {number}")
        counter.finish(number, length)
        echoed = response.get(f"Checksum{algorithm}")
        if echoed and echoed != checksum:
            raise S3IntegrityError(f"S3 computed a different checksum for part {number}")
        return CompletedPart(number, str(response["ETag"]), checksum, length)

    def _complete(self, state: UploadState, *, resumed: bool, reused: int) -> UploadResult:
        algorithm = state.checksum_algorithm
        parts = [
            {"PartNumber": p.number, "ETag": p.etag, f"Checksum{algorithm}": p.checksum}
            for p in state.parts
        ]

        def complete() -> dict[str, Any] | None:
            try:
                response: dict[str, Any] = self.client.complete_multipart_upload(
                    Bucket=state.bucket,
                    Key=state.key,
                    UploadId=state.upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except ClientError as exc:
                # A retried complete whose first attempt landed: the object is checked below.
                if error_code(exc) == "NoSuchUpload":
                    return None
                raise
            return response

        response = self._call(complete, "finish the upload") or {}
        expected = composite_checksum(algorithm, state.parts)
        head = self._head(state.key)
        if head is None:
            raise S3IntegrityError(f"The object {state.key} is missing after the upload finished")
        size = int(head.get("ContentLength", -1))
        reported = str(head.get(f"Checksum{algorithm}") or "")
        problem = None
        if size != state.total_bytes:
            problem = f"S3 holds {size} bytes, the file has {state.total_bytes}"
        elif reported and reported.split("-", 1)[0] != expected.split("-", 1)[0]:
            problem = f"S3's {algorithm} checksum {reported} differs from ours {expected}"
        if problem is not None:
            self._delete_quietly(state.key)
            raise S3IntegrityError(f"The uploaded object does not match the file: {problem}")
        etag = str(response.get("ETag") or head.get("ETag") or "").strip('"') or None
        return UploadResult(
            bucket=state.bucket,
            key=state.key,
            uri=s3_uri(state.bucket, state.key),
            bytes=size,
            checksum_algorithm=algorithm,
            checksum=expected,
            parts=len(state.parts),
            resumed=resumed,
            parts_reused=reused,
            etag=etag,
        )

    def _abort(self, key: str, upload_id: str) -> None:
        def abort() -> None:
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.config.bucket, Key=key, UploadId=upload_id
                )
            except ClientError as exc:
                if error_code(exc) != "NoSuchUpload":
                    raise

        self._call(abort, "abort the upload")

    def _abort_quietly(self, state: UploadState) -> None:
        try:
            self._abort(state.key, state.upload_id)
        except StorageError as exc:
            # The original failure matters more; the id stays in the task row for a later abort.
            log.warning("could not abort upload %s of %s: %s", state.upload_id, state.key, exc)

    def _delete_quietly(self, key: str) -> None:
        try:
            self._call(
                lambda: self.client.delete_object(Bucket=self.config.bucket, Key=key),
                "remove a damaged object",
            )
        except StorageError as exc:
            log.warning("could not remove damaged object %s: %s", key, exc)


def _parts_in(checksum: str) -> int:
    head, _, count = checksum.rpartition("-")
    return int(count) if head and count.isdigit() else 0
