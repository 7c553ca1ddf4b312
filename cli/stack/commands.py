"""`claimflow stack up|down|status`."""

from __future__ import annotations

import typer

stack_app = typer.Typer(no_args_is_help=True, help="Local Kafka and Postgres servers on loopback.")
