"""Loading CMS NCCI reference files into the claims schema (used by `claimflow codes load`): the files
are read here, the tables written by `repository.ReferenceCodes` in one transaction per load.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from services.claims.domain.scrubber.ncci import MueEdit, PtpEdit, parse_mue, parse_ptp
from services.claims.repository import ReferenceCodes
from shared.db import create_engine, create_sessionmaker, unit_of_work

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


def _sqlalchemy_url(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def replace_ptp_edits(database_url: str, provider_type: str, edits: Iterable[PtpEdit]) -> int:
    """Replaces every PTP edit of `provider_type` (the previous quarter) with these; returns how many."""
    engine = create_engine(_sqlalchemy_url(database_url), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await ReferenceCodes(session).replace_ptp_edits(provider_type, edits)
    finally:
        await engine.dispose()


async def replace_mue_edits(database_url: str, service_type: str, edits: Iterable[MueEdit]) -> int:
    """Replaces every MUE of `service_type` with these; returns how many."""
    engine = create_engine(_sqlalchemy_url(database_url), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await ReferenceCodes(session).replace_mue_edits(service_type, edits)
    finally:
        await engine.dispose()


def read_ptp(paths: Iterable[Path]) -> list[PtpEdit]:
    return [edit for path in paths for _, text in file_texts(path) for edit in parse_ptp(text)]


def read_mue(paths: Iterable[Path], service_type: str | None) -> list[MueEdit]:
    return [edit for path in paths for _, text in file_texts(path) for edit in parse_mue(text, service_type)]
