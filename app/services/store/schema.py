"""Schema versions: apply the Alembic migrations shipped inside this package, or refuse clearly."""

from __future__ import annotations

import enum
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError

from app.services.store.errors import (
    DatabaseNewerError,
    SchemaOutOfDateError,
    SchemaUpgradeNotPermittedError,
)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Alembic keeps its running context in module globals, so two threads of one process must not
# migrate at once; across processes the advisory lock in migrations/env.py does the same.
_ALEMBIC_LOCK = threading.Lock()


class SchemaStatus(enum.StrEnum):
    UP_TO_DATE = "up_to_date"
    UPGRADED = "upgraded"


def alembic_config() -> Config:
    # No alembic.ini: the migrations travel inside the installed package and the database comes
    # from the app's settings, so installers and `db upgrade` share one code path.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, action: str, revision: str) -> int:
    """Run one Alembic command; returns how many migration steps it applied."""
    config = alembic_config()
    with _ALEMBIC_LOCK, engine.begin() as conn:
        config.attributes["connection"] = conn
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
    return len(config.attributes.get("applied_steps", []))


def refuse_if_newer(engine: Engine) -> str | None:
    current = current_revision(engine)
    if current is not None and current not in known_revisions():
        raise DatabaseNewerError(current, head_revision())
    return current


def upgrade(engine: Engine, revision: str = "head") -> int:
    """Apply migrations up to `revision` (returns the steps applied); refuses a database this
    app does not understand, and explains a missing privilege."""
    current = refuse_if_newer(engine)
    try:
        return _run(engine, "upgrade", revision)
    except CommandError as exc:
        raise SchemaOutOfDateError(current, head_revision()) from exc
    except ProgrammingError as exc:
        raise SchemaUpgradeNotPermittedError(current, head_revision(), _reason(exc)) from exc


def _reason(exc: ProgrammingError) -> str:
    return str(exc.orig).strip().splitlines()[0]


def downgrade(engine: Engine, revision: str) -> None:
    refuse_if_newer(engine)
    _run(engine, "downgrade", revision)


def ensure_schema(engine: Engine, *, allow_upgrade: bool = True) -> SchemaStatus:
    """Called on start: up to date, upgraded now, or a SchemaError saying exactly why not."""
    current = refuse_if_newer(engine)
    head = head_revision()
    if current == head:
        return SchemaStatus.UP_TO_DATE
    if not allow_upgrade:
        raise SchemaOutOfDateError(current, head)
    # Typically a business user's login may read and write tasks but not create tables; then
    # upgrade() raises SchemaUpgradeNotPermittedError and an administrator runs it once.
    applied = upgrade(engine)
    return SchemaStatus.UPGRADED if applied else SchemaStatus.UP_TO_DATE
