"""All SQL of the intake service; every query is scoped to one tenant."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import encounters


class EncounterRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, encounter_id: uuid.UUID) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(encounters).where(encounters.c.tenant_id == self._tenant, encounters.c.id == encounter_id)
            )
        ).one_or_none()

    async def get_by_external_id(self, external_encounter_id: str) -> sa.Row[Any] | None:
        return (
            await self._session.execute(
                sa.select(encounters).where(
                    encounters.c.tenant_id == self._tenant,
                    encounters.c.external_encounter_id == external_encounter_id,
                )
            )
        ).one_or_none()

    async def add(self, values: dict[str, Any]) -> sa.Row[Any] | None:
        """Insert unless the tenant already sent this external id; None means it already exists."""
        statement = (
            insert(encounters)
            .values(tenant_id=self._tenant, **values)
            .on_conflict_do_nothing(constraint="uq_encounters_tenant_id")
            .returning(encounters)
        )
        return (await self._session.execute(statement)).one_or_none()
