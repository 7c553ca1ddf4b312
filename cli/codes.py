"""`claimflow codes load ...`: reference code sets into the claims schema, from the publishers' files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer

from services.claims.domain.scrubber.ncci import NcciFileError
from services.claims.reference_data import UnreadableFile, read_mue, read_ptp, replace_mue_edits, replace_ptp_edits

codes_app = typer.Typer(no_args_is_help=True, help="Reference code sets for the scrubber.")
load_app = typer.Typer(no_args_is_help=True, help="Load a publisher's file (replaces the previous quarter).")
codes_app.add_typer(load_app, name="load")

Files = Annotated[
    list[Path],
    typer.Argument(
        help="CMS files: .txt (tab-delimited), .csv, or the .zip CMS publishes.", exists=True, dir_okay=False
    ),
]
DatabaseUrl = Annotated[
    str,
    typer.Option(envvar="CLAIMFLOW_DATABASE_URL", help="The claims service's database URL (its own role)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@load_app.command("ncci-ptp")
def load_ncci_ptp(
    files: Files,
    database_url: DatabaseUrl,
    provider_type: Annotated[
        Literal["practitioner", "hospital"], typer.Option(help="Which PTP table the files are.")
    ] = "practitioner",
) -> None:
    """NCCI procedure-to-procedure edits (CMS "Practitioner PTP Edits" or "Hospital PTP Edits").

    Give every file of the quarter at once (CMS splits the table by code range); they replace the
    previous quarter's edits of that provider type in one transaction.
    """
    try:
        edits = read_ptp(files)
    except (NcciFileError, UnreadableFile, OSError) as exc:
        raise _fail(str(exc)) from None
    if not edits:
        raise _fail("no PTP edit rows found: is this a CMS PTP edits file?")
    count = asyncio.run(replace_ptp_edits(database_url, provider_type, edits))
    typer.echo(f"loaded {count} {provider_type} NCCI PTP edits from {len(files)} file(s)")


@load_app.command("mue")
def load_mue(
    files: Files,
    database_url: DatabaseUrl,
    service_type: Annotated[
        Literal["practitioner", "outpatient_hospital", "dme"] | None,
        typer.Option(help="Default: read from the file's header (e.g. 'Practitioner Services MUE Values')."),
    ] = None,
) -> None:
    """NCCI medically unlikely edits (CMS MUE tables: practitioner, outpatient hospital, DME)."""
    try:
        edits = read_mue(files, service_type)
    except (NcciFileError, UnreadableFile, OSError) as exc:
        raise _fail(str(exc)) from None
    if not edits:
        raise _fail("no MUE rows found: is this a CMS MUE file?")
    kinds = {edit.service_type for edit in edits}
    if len(kinds) > 1:
        raise _fail(f"the files mix service types ({', '.join(sorted(kinds))}); load them one type at a time")
    kind = kinds.pop()
    count = asyncio.run(replace_mue_edits(database_url, kind, edits))
    typer.echo(f"loaded {count} {kind} MUE edits from {len(files)} file(s)")
