"""All SQL of the notifications service; every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
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


_FEED_INSERT = sa.text(
    "INSERT INTO notifications.activity (event_id, tenant_id, event_type, subject, occurred_at) "
    "SELECT * FROM unnest(CAST(:event_ids AS text[]), CAST(:tenants AS text[]), CAST(:event_types AS text[]), "
    "CAST(:subjects AS text[]), CAST(:occurred AS timestamptz[])) ON CONFLICT DO NOTHING"
).bindparams(
    *(sa.bindparam(name, type_=ARRAY(sa.Text)) for name in ("event_ids", "tenants", "event_types", "subjects")),
    sa.bindparam("occurred", type_=ARRAY(sa.DateTime(timezone=True))),
)
"""A batch of feed entries from one array per column: one statement (an executemany ran the insert per row)."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One event in its tenant's activity feed."""

    event_id: str
    tenant_id: str
    event_type: str
    subject: str
    occurred_at: dt.datetime


class ActivityFeed:
    """Writes from the event stream, which carries each event's tenant itself."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entries: Sequence[FeedEntry]) -> None:
        if not entries:
            return
        await self._session.execute(
            _FEED_INSERT,
            {
                "event_ids": [entry.event_id for entry in entries],
                "tenants": [entry.tenant_id for entry in entries],
                "event_types": [entry.event_type for entry in entries],
                "subjects": [entry.subject for entry in entries],
                "occurred": [entry.occurred_at for entry in entries],
            },
        )
