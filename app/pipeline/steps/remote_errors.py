"""S3's and Druid's errors as the runner's: a failed step with the service's own sentence."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.pipeline.moves import StepCancelled, StepFailed
from app.services.druid import DruidError
from app.services.storage import StorageError, UploadCancelledError


@contextmanager
def translated() -> Iterator[None]:
    """Around every call to S3 or Druid in a step (the runner imports neither library)."""
    try:
        yield
    except UploadCancelledError as exc:
        raise StepCancelled(str(exc)) from exc
    except StorageError as exc:
        raise StepFailed(exc.user_message) from exc
    except DruidError as exc:
        raise StepFailed(str(exc)) from exc
