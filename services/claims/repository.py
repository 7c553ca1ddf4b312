"""All SQL of the claims service; every query is scoped to one tenant."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.models import claims


class ClaimRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, claim_id: uuid.UUID) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(claims).where(claims.c.tenant_id == self._tenant, claims.c.id == claim_id)
            )
        ).one_or_none()

    async def list_for_encounter(self, encounter_id: uuid.UUID) -> list[sa.Row[Any]]:
        return list(
            (
                await self._session.execute(
                    sa.select(claims).where(claims.c.tenant_id == self._tenant, claims.c.encounter_id == encounter_id)
                )
            ).all()
        )


class ClaimDrafts:
    """Writes from the event stream, which carries each event's tenant itself."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, drafts: list[dict[str, Any]]) -> None:
        """One claim per encounter, enforced by a unique constraint; existing ones are left alone."""
        await self._session.execute(insert(claims).on_conflict_do_nothing(constraint="uq_claims_tenant_id"), drafts)
