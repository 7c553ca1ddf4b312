"""`claimflow events export-schemas`: regenerate the checked-in event schemas and AsyncAPI document."""

from __future__ import annotations

import typer
from rich.console import Console

from shared.events.mirror import write_wire_module
from shared.events.schemas import write_all

events_app = typer.Typer(no_args_is_help=True, help="Event schemas for analytics consumers.", rich_markup_mode=None)
console = Console()


@events_app.command("export-schemas")
def export_schemas() -> None:
    """Write shared/events/schemas/*.json, shared/events/asyncapi.json and the msgspec mirrors
    (shared/events/wire.py) from the event models."""
    for path in [*write_all(), write_wire_module()]:
        console.print(f"wrote {path}")
