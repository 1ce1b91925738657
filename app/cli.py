"""Command line: `ingest-desk` opens the window; subcommands run the same services headless."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app import __version__


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ingest-desk")
@click.option(
    "--self-test",
    is_flag=True,
    help="Start Qt, open the window, validate a bundled sample through a worker, exit 0 if fine.",
)
@click.pass_context
def cli(ctx: click.Context, self_test: bool) -> None:
    """Ingest Desk: validate spreadsheets locally and load them into Apache Druid.

    Run without a command to open the desktop window.
    """
    if ctx.invoked_subcommand is not None:
        return
    # Qt loads only for the window, so the CLI stays fast and works without a display.
    if self_test:
        from app.ui.app import run_self_test  # noqa: PLC0415

        sys.exit(run_self_test())
    from app.ui.app import run_gui  # noqa: PLC0415

    sys.exit(run_gui())


def _register_commands() -> None:
    # Each command family lives in app/commands/; importing them here keeps `--help` complete.
    from app.commands.data import stage_command, validate_command  # noqa: PLC0415
    from app.commands.db import db_group  # noqa: PLC0415
    from app.commands.ingest import (  # noqa: PLC0415
        cancel_command,
        doctor_command,
        ingest_command,
        retry_command,
        tasks_command,
    )

    cli.add_command(validate_command)
    cli.add_command(stage_command)
    cli.add_command(db_group)
    for command in (ingest_command, tasks_command, cancel_command, retry_command, doctor_command):
        cli.add_command(command)


def _paths_to_open(args: list[str]) -> list[str] | None:
    """`ingest-desk FILE...` (how installers' "Open with" calls us) opens the window with them."""
    if not args or args[0].startswith("-") or args[0] in cli.commands:
        return None
    if all(Path(arg).exists() for arg in args):
        return args
    return None


def main() -> None:
    _register_commands()
    paths = _paths_to_open(sys.argv[1:])
    if paths is not None:
        from app.ui.app import run_gui  # noqa: PLC0415

        sys.exit(run_gui(paths))
    cli(prog_name="ingest-desk")


if __name__ == "__main__":
    main()
