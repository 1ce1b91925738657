"""Command line: `ingest-desk` opens the window; subcommands run the same services headless."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from app import __version__

# Each command family lives in app/commands/ and is imported when one of its commands runs (or
# `--help` lists them): the window, opened without a command, never loads the services behind
# them (Polars, PyArrow, boto3, httpx).
_COMMANDS = {
    "cancel": "app.commands.ingest:cancel_command",
    "db": "app.commands.db:db_group",
    "doctor": "app.commands.ingest:doctor_command",
    "ingest": "app.commands.ingest:ingest_command",
    "retry": "app.commands.ingest:retry_command",
    "show": "app.commands.show:show_command",
    "stage": "app.commands.data:stage_command",
    "tasks": "app.commands.ingest:tasks_command",
    "validate": "app.commands.data:validate_command",
}


class _CommandsOnDemand(click.Group):
    """A group whose subcommands (see `_COMMANDS`) are imported the first time one is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, attribute = _COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # A database, S3 or Druid problem from any command: one plain line, an exit code.
            from app.commands.problems import report  # noqa: PLC0415

            code = report(exc)
            if code is None:
                raise
            ctx.exit(code)


@click.group(
    cls=_CommandsOnDemand,
    invoke_without_command=True,
    # Spelled here, not imported, so `--help` loads no command module (app.commands.problems
    # holds the same text; a test checks they agree).
    epilog=(
        "Exit codes: 0 done; 1 a task or check failed, or the file is invalid; 2 bad usage or "
        "an unreadable file; 3 refused (already ingested); 4 the task database, S3 or Druid "
        "cannot be used (settings, connection, schema)."
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def _paths_to_open(args: list[str]) -> list[str] | None:
    """`ingest-desk FILE...` (how installers' "Open with" calls us) opens the window with them."""
    if not args or args[0].startswith("-") or args[0] in _COMMANDS:
        return None
    if all(Path(arg).exists() for arg in args):
        return args
    return None


def main() -> None:
    # Environment variables Polars reads, set before any thread can read the environment.
    from app.services.reading.polars_io import apply_reader_defaults  # noqa: PLC0415

    apply_reader_defaults()
    paths = _paths_to_open(sys.argv[1:])
    if paths is not None:
        from app.ui.app import run_gui  # noqa: PLC0415

        sys.exit(run_gui(paths))
    cli(prog_name="ingest-desk")


if __name__ == "__main__":
    main()
