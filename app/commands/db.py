"""`ingest-desk db ...`: inspect and migrate the task database the settings point at.

Database errors go up to the command group, which prints them as one line with a hint."""

from __future__ import annotations

import click

from app.pipeline.database import database_url, downgrade_schema, schema_revision, upgrade_schema

_url_option = click.option(
    "--database-url",
    envvar="INGEST_DESK_DATABASE_URL",
    default=None,
    help="Task database URL (default: the settings' database_url, else the embedded SQLite file).",
)


def _resolve(url: str | None) -> str:
    return database_url(url)


@click.group("db")
def db_group() -> None:
    """Task database schema: show the version, upgrade it."""


@db_group.command("upgrade")
@_url_option
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade_command(database_url: str | None, revision: str) -> None:
    """Apply the schema migrations this app ships (safe to run repeatedly)."""
    change = upgrade_schema(_resolve(database_url), revision)
    if change.before == change.after:
        click.echo(f"{change.where}: already at {change.after}")
    else:
        click.echo(f"{change.where}: upgraded {change.before or 'empty'} -> {change.after}")


@db_group.command("current")
@_url_option
def current_command(database_url: str | None) -> None:
    """Print the database's schema revision and the newest this app knows."""
    change = schema_revision(_resolve(database_url))
    click.echo(f"database: {change.after or 'empty'}")
    click.echo(f"app:      {change.head}")


@db_group.command("downgrade")
@_url_option
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading drops data in the removed tables. Continue?")
def downgrade_command(database_url: str | None, revision: str) -> None:
    """Revert the schema to REVISION ("base" removes every table)."""
    change = downgrade_schema(_resolve(database_url), revision)
    click.echo(f"{change.where}: now at {change.after or 'empty'}")

