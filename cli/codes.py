"""`claimflow codes load ...`: reference code sets into the claims schema, from the publishers' files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer

from services.claims.domain.scrubber.ncci import NcciFileError
from services.claims.reference_data import UnreadableFile, read_mue, read_ptp, replace_mue_edits, replace_ptp_edits
from services.denials.domain.code_lists import CodeListError, CodeListKind, parse_code_list
from services.denials.domain.underpayment import ContractFileError, parse_contract_csv
from services.denials.reference_data import load_contract_rates, replace_code_list

codes_app = typer.Typer(no_args_is_help=True, help="Reference code sets for the scrubber and the denials queue.")
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


DenialsDatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar=["CLAIMFLOW_DENIALS_DATABASE_URL", "CLAIMFLOW_DATABASE_URL"],
        help="The denials service's database URL (its own role).",
    ),
]
OneFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to load.")]


def _load_code_list(kind: CodeListKind, file: Path, database_url: str) -> None:
    try:
        codes = parse_code_list(file.read_bytes().decode("utf-8-sig", errors="replace"), kind)
    except (CodeListError, OSError) as exc:
        raise _fail(f"{file.name}: {exc}") from None
    count = asyncio.run(replace_code_list(database_url, kind.value, codes))
    typer.echo(f"loaded {count} {kind.value.upper()} descriptions from {file.name}")


@load_app.command("carc")
def load_carc(file: OneFile, database_url: DenialsDatabaseUrl) -> None:
    """Claim Adjustment Reason Codes from the publisher's list (code, description, Start/Stop lines)."""
    _load_code_list(CodeListKind.CARC, file, database_url)


@load_app.command("rarc")
def load_rarc(file: OneFile, database_url: DenialsDatabaseUrl) -> None:
    """Remittance Advice Remark Codes from the publisher's list (code, description, Start/Stop lines)."""
    _load_code_list(CodeListKind.RARC, file, database_url)


@load_app.command("contract")
def load_contract(
    file: OneFile,
    database_url: DenialsDatabaseUrl,
    tenant: Annotated[str, typer.Option(envvar="CLAIMFLOW_TENANT", help="Whose contract this is.")],
) -> None:
    """Contracted allowed amounts: CSV `payer_id,procedure_code,modifier,allowed_amount[,currency]`
    (amounts in dollars, e.g. 110.00). Rows replace the same payer/procedure/modifier; others stay."""
    try:
        rates = parse_contract_csv(file.read_bytes().decode("utf-8-sig", errors="replace"))
    except (ContractFileError, OSError) as exc:
        raise _fail(f"{file.name}: {exc}") from None
    if not rates:
        raise _fail(f"{file.name}: no contract rows")
    count = asyncio.run(load_contract_rates(database_url, tenant, rates))
    typer.echo(f"loaded {count} contract rates for tenant {tenant} from {file.name}")
