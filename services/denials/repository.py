"""All SQL of the denials service; every query is scoped to one tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.denials.models import denial_cases


class DenialCaseRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def open_case(self, values: dict[str, Any]) -> None:
        """One case per claim and remittance trace number, enforced by a unique constraint."""
        await self._session.execute(
            insert(denial_cases)
            .values(tenant_id=self._tenant, **values)
            .on_conflict_do_nothing(constraint="uq_denial_cases_tenant_id")
        )

    async def list_open(self, limit: int) -> list[sa.Row[Any]]:
        return list(
            (
                await self._session.execute(
                    sa.select(denial_cases)
                    .where(denial_cases.c.tenant_id == self._tenant, denial_cases.c.status == "open")
                    .order_by(denial_cases.c.denied_cents.desc(), denial_cases.c.opened_at)
                    .limit(limit)
                )
            ).all()
        )
