"""The `claimflow` command: local stack, services, X12 tools, dead letters, event schemas.

Each command's module is imported only when that command runs: `claimflow --help` lists them from the table
below without loading the services, SQLAlchemy or Kafka clients behind them (a test keeps the table's help
equal to each command's own)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer._click import Command, Context  # typer vendors click: its groups work with these classes
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class CommandEntry:
    module: str
    attribute: str
    """A `typer.Typer` (a group of commands) or a function (one command)."""
    short_help: str


COMMANDS: dict[str, CommandEntry] = {
    "up": CommandEntry(
        "cli.pipeline",
        "up",
        "Start Kafka and Postgres, migrate, run the five services and the sandbox payer until Ctrl-C.",
    ),
    "token": CommandEntry(
        "cli.tokens", "token", "Print a development token for the running local services (never for production)."
    ),
    "demo": CommandEntry(
        "cli.demo", "demo", "Push a synthetic practice's month through the running system and add up what came back."
    ),
    "stack": CommandEntry("cli.stack.commands", "stack_app", "Local Kafka and Postgres servers on loopback."),
    "x12": CommandEntry("cli.x12", "x12_app", "Read, write and validate X12 files offline."),
    "dlt": CommandEntry("cli.dead_letters", "dlt_app", "Summarise, list, replay and discard dead-lettered messages."),
    "events": CommandEntry("cli.events", "events_app", "Event schemas for analytics consumers."),
    "db": CommandEntry("cli.database", "db_app", "Database roles and schemas."),
    "codes": CommandEntry("cli.codes", "codes_app", "Reference code sets for the scrubber and the denials queue."),
    "status": CommandEntry(
        "cli.status",
        "status",
        "Each service `claimflow up` runs, a row per replica: state, restarts, readiness, RSS, lag, outbox backlog.",
    ),
    "api-reference": CommandEntry(
        "cli.api_reference",
        "api_reference",
        "Write one offline API reference page for the five services (ReDoc, its assets included).",
    ),
    "phi": CommandEntry("cli.phi", "phi_app", "PHI at rest: rotate keys, seal rows stored before encryption."),
    "analytics": CommandEntry(
        "cli.analytics", "analytics_app", "The analytics feed: events landed in Parquet for DuckDB."
    ),
}


def load_command(name: str) -> Command:
    """The real click command behind `name` (its module imported now)."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class DeferredCommand(TyperCommand):
    """Stands in for a command in the help listing; when invoked, it hands over to the real one."""

    def __init__(self, name: str) -> None:
        super().__init__(name, short_help=COMMANDS[name].short_help, help=COMMANDS[name].short_help)

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        return load_command(str(self.name)).make_context(info_name, args, parent=parent, **extra)


class DeferredGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in COMMANDS:
            return DeferredCommand(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    no_args_is_help=True,
    help="claimflow: medical-billing pipeline tools.",
    cls=DeferredGroup,
    # Plain help here and in every sub-app: typer's rich help imports rich's markdown stack (about 0.35 s), which
    # put `claimflow --help` at 0.50-0.54 s on a quiet 2-core machine; plain help starts in about 0.15 s.
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """claimflow: medical-billing pipeline tools."""
