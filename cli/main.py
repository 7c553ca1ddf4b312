"""The `claimflow` command: local stack, services, X12 tools, dead letters, event schemas."""

from __future__ import annotations

import typer

from cli.analytics import analytics_app
from cli.codes import codes_app
from cli.database import db_app
from cli.dead_letters import dlt_app
from cli.demo import demo
from cli.events import events_app
from cli.pipeline import up
from cli.stack.commands import stack_app
from cli.status import status
from cli.tokens import token
from cli.x12 import x12_app

app = typer.Typer(no_args_is_help=True, help="claimflow: medical-billing pipeline tools.")
app.command()(up)
app.command()(token)
app.command()(demo)
app.command()(status)
app.add_typer(stack_app, name="stack")
app.add_typer(x12_app, name="x12")
app.add_typer(dlt_app, name="dlt")
app.add_typer(events_app, name="events")
app.add_typer(db_app, name="db")
app.add_typer(codes_app, name="codes")
app.add_typer(analytics_app, name="analytics")
