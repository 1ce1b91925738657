"""Schema administration by URL: what `ingest-desk db` does, with the store's own errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from app.services.store.diagnose import unavailable
from app.services.store.engine import display_url, make_engine
from app.services.store.schema import current_revision, downgrade, head_revision, upgrade

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """Where a database's schema stood before and after a command (None: no task tables)."""

    where: str
    before: str | None
    after: str | None
    head: str


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    try:
        engine = make_engine(url)  # DatabaseUrlError when the URL cannot be used
    except OSError as exc:
        raise unavailable(url, exc) from exc
    try:
        yield engine
    except (DBAPIError, OSError) as exc:
        raise unavailable(url, exc) from exc
    finally:
        engine.dispose()


def _change(url: str, action: Callable[[Engine], object]) -> SchemaChange:
    with _engine(url) as engine:
        before = current_revision(engine)
        action(engine)
        after = current_revision(engine)
    return SchemaChange(display_url(url), before, after, head_revision())


def upgrade_schema(url: str, revision: str = "head") -> SchemaChange:
    """Apply the migrations up to `revision`; StoreUnavailableError or SchemaError say why not."""
    return _change(url, lambda engine: upgrade(engine, revision))


def downgrade_schema(url: str, revision: str) -> SchemaChange:
    return _change(url, lambda engine: downgrade(engine, revision))


def schema_revision(url: str) -> SchemaChange:
    """The database's revision beside the newest this app knows (nothing changed)."""
    return _change(url, lambda _engine: None)
