"""All SQL of the notifications service; every query is scoped to one tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import activity


class ActivityRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def record(self, values: dict[str, Any]) -> None:
        await self._session.execute(insert(activity).values(tenant_id=self._tenant, **values).on_conflict_do_nothing())

    async def for_subject(self, subject: str) -> list[sa.Row[Any]]:
        return list(
            (
                await self._session.execute(
                    sa.select(activity)
                    .where(activity.c.tenant_id == self._tenant, activity.c.subject == subject)
                    .order_by(activity.c.occurred_at)
                )
            ).all()
        )


class ActivityFeed:
    """Writes from the event stream, which carries each event's tenant itself."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entries: list[dict[str, Any]]) -> None:
        await self._session.execute(insert(activity).on_conflict_do_nothing(), entries)
