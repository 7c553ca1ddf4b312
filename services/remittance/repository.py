"""All SQL of the remittance service; every query is scoped to one tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.models import submitted_claims


class SubmittedClaimRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get_by_control_number(self, claim_control_number: str) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(submitted_claims).where(
                    submitted_claims.c.tenant_id == self._tenant,
                    submitted_claims.c.claim_control_number == claim_control_number,
                )
            )
        ).one_or_none()

    async def record(self, values: dict[str, Any]) -> None:
        """A resubmission of the same claim keeps the latest submission time."""
        statement = insert(submitted_claims).values(tenant_id=self._tenant, **values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[submitted_claims.c.claim_id],
                set_={"submitted_at": statement.excluded.submitted_at},
                where=submitted_claims.c.tenant_id == self._tenant,
            )
        )
