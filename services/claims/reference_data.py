"""Loading CMS NCCI reference files into the claims schema (used by `claimflow codes load`).

CMS publishes complete quarterly tables, so a load replaces every edit of its provider or service
type in one transaction: the scrubber never sees half a quarter.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import asyncpg

from services.claims.domain.scrubber.ncci import MueEdit, PtpEdit, parse_mue, parse_ptp
from services.claims.models import SCHEMA

TEXT_SUFFIXES = (".txt", ".csv")


class UnreadableFile(ValueError):
    pass


def file_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of a .txt/.csv file, or of each such member of a CMS .zip."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                if member.lower().endswith(TEXT_SUFFIXES):
                    yield member, archive.read(member).decode("utf-8-sig", errors="replace")
        return
    if path.suffix.lower() in {".xlsx", ".xls"}:
        raise UnreadableFile(f"{path.name}: save the spreadsheet as tab-delimited text or CSV, or load CMS's .txt/.zip")
    yield path.name, path.read_bytes().decode("utf-8-sig", errors="replace")


def asyncpg_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def replace_ptp_edits(database_url: str, provider_type: str, edits: Iterable[PtpEdit]) -> int:
    records = [
        (
            provider_type,
            e.column1,
            e.column2,
            e.effective_date,
            e.deletion_date,
            e.modifier_indicator.value,
            e.rationale,
        )
        for e in edits
    ]
    # Later rows of a file win over earlier ones with the same key.
    unique = list({(r[1], r[2], r[3]): r for r in records}.values())
    connection = await asyncpg.connect(asyncpg_url(database_url))
    try:
        async with connection.transaction():
            await connection.execute("DELETE FROM claims.ncci_ptp_edits WHERE provider_type = $1", provider_type)
            await connection.copy_records_to_table(
                "ncci_ptp_edits",
                schema_name=SCHEMA,
                records=unique,
                columns=[
                    "provider_type", "column1", "column2", "effective_date", "deletion_date", "modifier_indicator",
                    "rationale",
                ],
            )  # fmt: skip
    finally:
        await connection.close()
    return len(unique)


async def replace_mue_edits(database_url: str, service_type: str, edits: Iterable[MueEdit]) -> int:
    unique = list(
        {e.code: (service_type, e.code, e.max_units, e.adjudication.value, e.rationale) for e in edits}.values()
    )
    connection = await asyncpg.connect(asyncpg_url(database_url))
    try:
        async with connection.transaction():
            await connection.execute("DELETE FROM claims.mue_edits WHERE service_type = $1", service_type)
            await connection.copy_records_to_table(
                "mue_edits",
                schema_name=SCHEMA,
                records=unique,
                columns=["service_type", "code", "max_units", "adjudication", "rationale"],
            )
    finally:
        await connection.close()
    return len(unique)


def read_ptp(paths: Iterable[Path]) -> list[PtpEdit]:
    return [edit for path in paths for _, text in file_texts(path) for edit in parse_ptp(text)]


def read_mue(paths: Iterable[Path], service_type: str | None) -> list[MueEdit]:
    return [edit for path in paths for _, text in file_texts(path) for edit in parse_mue(text, service_type)]
