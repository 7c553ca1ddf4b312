"""`claimflow x12 ...`: offline X12 tools (no servers needed)."""

from __future__ import annotations

import typer

x12_app = typer.Typer(no_args_is_help=True, help="Read, write and validate X12 files offline.")
