"""Loading reference files into the denials schema (used by `claimflow codes load carc|rarc|contract`)."""

from __future__ import annotations

from collections.abc import Sequence

from services.denials import repository as store
from services.denials.domain.code_lists import CodeDescription
from services.denials.domain.underpayment import ContractRate
from services.denials.repository import DenialCaseRepository
from shared.db import create_engine, create_sessionmaker, unit_of_work


async def replace_code_list(database_url: str, kind: str, codes: Sequence[CodeDescription]) -> int:
    """The list replaces the previous one of its kind in one transaction."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await store.replace_code_list(session, kind, codes)
    finally:
        await engine.dispose()


async def load_contract_rates(database_url: str, tenant: str, rates: Sequence[ContractRate]) -> int:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await DenialCaseRepository(session, tenant).replace_contract_rates(None, rates)
    finally:
        await engine.dispose()
