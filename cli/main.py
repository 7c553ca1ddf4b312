"""The `claimflow` command: local stack, services, X12 tools."""

from __future__ import annotations

import typer

from cli.stack.commands import stack_app
from cli.x12 import x12_app

app = typer.Typer(no_args_is_help=True, help="claimflow: medical-billing pipeline tools.")
app.add_typer(stack_app, name="stack")
app.add_typer(x12_app, name="x12")
