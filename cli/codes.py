"""`claimflow codes load ...`: reference code sets into the claims schema, from the publishers' files."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import typer

from services.claims.domain.scrubber.ncci import NcciFileError
from services.claims.reference_data import UnreadableFile, read_mue, read_ptp, replace_mue_edits, replace_ptp_edits
from services.denials.domain.code_lists import CodeListError, CodeListKind, parse_code_list
from services.denials.domain.underpayment import ContractFileError, parse_contract_csv
from services.denials.reference_data import load_contract_rates, replace_code_list
from shared import codesets
from shared.codesets.loaders import (
    CodeSetFileError,
    default_hcpcs_effective_from,
    default_icd_effective_from,
    read_hcpcs,
    read_icd10,
    read_text,
)
from shared.codesets.releases import CodeSetName, Release
from shared.codesets.store import DEFAULT_DIRECTORY, DIRECTORY_VARIABLE, write_code_list, write_release

codes_app = typer.Typer(
    no_args_is_help=True, help="Reference code sets for the scrubber and the denials queue.", rich_markup_mode=None
)
load_app = typer.Typer(
    no_args_is_help=True, help="Load a publisher's file (replaces the previous quarter).", rich_markup_mode=None
)
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
    saved = write_code_list(codesets.store.configured_directory(), kind.value, [(c.code, c.description) for c in codes])
    typer.echo(f"loaded {count} {kind.value.upper()} descriptions from {file.name} (also {saved}, for every service)")


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


CodeSetsDirectory = Annotated[
    Path,
    typer.Option(
        "--into",
        envvar=DIRECTORY_VARIABLE,
        file_okay=False,
        help="The code-set directory every service reads (restart the services after a load).",
    ),
]
CodeSetFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="The publisher's .txt file, or the .zip as published.")
]
EffectiveFrom = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Override the first date of service the release applies to."),
]


def _save(release: Release, directory: Path, source: str) -> None:
    path = write_release(directory, release)
    typer.echo(
        f"loaded {release.code_set.value} {release.name}: {len(release.billable)} billable of {len(release.codes)} "
        f"codes, in force from {release.effective_from} (from {source}, saved to {path})"
    )


def _load_icd10(
    code_set: CodeSetName, file: Path, into: Path, fiscal_year: int | None, start: dt.datetime | None
) -> None:
    try:
        name, text = read_text(file, "order")
        year, effective_from = default_icd_effective_from(name, fiscal_year)
        label = f"FY{year}" + (" April update" if effective_from.month == 4 else "")
        release = read_icd10(code_set, name, text, label, start.date() if start else effective_from)
    except (CodeSetFileError, OSError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from None
    _save(release, into, name)


@load_app.command("icd10cm")
def load_icd10cm(
    file: CodeSetFile,
    into: CodeSetsDirectory = DEFAULT_DIRECTORY,
    fiscal_year: Annotated[int | None, typer.Option(help="Default: the year in the file name.")] = None,
    effective_from: EffectiveFrom = None,
) -> None:
    """ICD-10-CM from the CMS/CDC release (`icd10cm-order-2027.txt`, `icd10cm-codes-2027.txt`, or their zip).

    Fiscal year N applies to dates of service from 1 October of N-1 (an April update from 1 April);
    each release is kept, so older dates of service are still judged by their own release."""
    _load_icd10(CodeSetName.ICD10CM, file, into, fiscal_year, effective_from)


@load_app.command("icd10pcs")
def load_icd10pcs(
    file: CodeSetFile,
    into: CodeSetsDirectory = DEFAULT_DIRECTORY,
    fiscal_year: Annotated[int | None, typer.Option(help="Default: the year in the file name.")] = None,
    effective_from: EffectiveFrom = None,
) -> None:
    """ICD-10-PCS from the CMS release (`icd10pcs_order_2027.txt`, `icd10pcs_codes_2027.txt`, or their zip)."""
    _load_icd10(CodeSetName.ICD10PCS, file, into, fiscal_year, effective_from)


@load_app.command("hcpcs")
def load_hcpcs(
    file: CodeSetFile,
    into: CodeSetsDirectory = DEFAULT_DIRECTORY,
    effective_from: EffectiveFrom = None,
) -> None:
    """HCPCS Level II codes and modifiers from the CMS Alpha-Numeric HCPCS file (`HCPC2027_JAN_ANWEB.txt`
    or its zip). Default release date: from the name (JAN, APR, JUL, OCT of the year)."""
    try:
        name, text = read_text(file, "anweb")
        start = effective_from.date() if effective_from else default_hcpcs_effective_from(name)
        release = read_hcpcs(name, text, f"{start:%Y %B}", start)
    except (CodeSetFileError, OSError) as exc:
        raise _fail(str(exc)) from None
    _save(release, into, name)


@codes_app.command("describe")
def describe_code(
    kind: Annotated[codesets.CodeKind, typer.Argument(help="Which code list.")],
    code: Annotated[str, typer.Argument(help="The code, e.g. 197, A7:164:IL (claim_status_category), 0450.")],
    on: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date of service.")] = None,
    into: CodeSetsDirectory = DEFAULT_DIRECTORY,
) -> None:
    """What a code means, and whether it is billable on a date (for the code sets that say so)."""
    codesets.use_directory(into)
    day = on.date() if on else dt.date.today()
    if kind is codesets.CodeKind.CLAIM_STATUS_CATEGORY and ":" in code:
        text = codesets.describe_claim_status_composite(code)
    else:
        text = codesets.describe(kind, code, day)
    typer.echo(f"{code}\t{text or '(no description loaded)'}")
    validators = {
        codesets.CodeKind.ICD10CM: codesets.validate_icd10cm,
        codesets.CodeKind.ICD10PCS: codesets.validate_icd10pcs,
        codesets.CodeKind.PROCEDURE: codesets.validate_procedure,
        codesets.CodeKind.MODIFIER: codesets.validate_modifier,
        codesets.CodeKind.PLACE_OF_SERVICE: codesets.validate_place_of_service,
        codesets.CodeKind.REVENUE: codesets.validate_revenue_code,
    }
    if (validate := validators.get(kind)) is not None and (problem := validate(code, day)) is not None:
        typer.echo(f"not billable on {day}: {problem}", err=True)
        raise typer.Exit(1)
