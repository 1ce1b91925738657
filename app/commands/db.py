"""`ingest-desk db ...`: inspect and migrate the task database the settings point at."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from app.services.settings import load_settings
from app.services.store import (
    SchemaError,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from app.services.store.engine import display_url, make_engine

_url_option = click.option(
    "--database-url",
    envvar="INGEST_DESK_DATABASE_URL",
    default=None,
    help="Task database URL (default: the settings' database_url, else the embedded SQLite file).",
)


def _resolve(url: str | None) -> str:
    return url or load_settings().effective_database_url


@click.group("db")
def db_group() -> None:
    """Task database schema: show the version, upgrade it."""


@db_group.command("upgrade")
@_url_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_command(database_url: str | None, revision: str) -> None:
    """Apply the schema migrations this app ships (safe to run repeatedly)."""
    url = _resolve(database_url)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach {display_url(url)}: {exc.orig}") from exc
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{display_url(url)}: already at {after}")
    else:
        click.echo(f"{display_url(url)}: upgraded {before or 'empty'} -> {after}")


@db_group.command("current")
@_url_option
def current_command(database_url: str | None) -> None:
    """Print the database's schema revision and the newest this app knows."""
    url = _resolve(database_url)
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach {display_url(url)}: {exc.orig}") from exc
    finally:
        engine.dispose()
    head = head_revision()
    click.echo(f"database: {current or 'empty'}")
    click.echo(f"app:      {head}")


@db_group.command("downgrade")
@_url_option
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading drops data in the removed tables. Continue?")
def downgrade_command(database_url: str | None, revision: str) -> None:
    """Revert the schema to REVISION ("base" removes every table)."""
    url = _resolve(database_url)
    engine = make_engine(url)
    try:
        downgrade(engine, revision)
        after = current_revision(engine)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"{display_url(url)}: now at {after or 'empty'}")
