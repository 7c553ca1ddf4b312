"""All SQL of the notifications service; every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import activity
from shared.db import text_array


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


_ARRAY_INSERTS: dict[tuple[str, tuple[str, ...]], sa.TextClause | None] = {}


def array_insert(table: sa.Table, names: tuple[str, ...]) -> sa.TextClause | None:
    """`INSERT ... SELECT * FROM unnest(arrays) ON CONFLICT DO NOTHING` for these columns (one bind parameter per
    column, an array of its type); None when one is JSON, which Postgres arrays do not carry as such."""
    key = (table.fullname, names)
    if key not in _ARRAY_INSERTS:
        columns = [table.c[name] for name in names]
        if any(isinstance(column.type, sa.JSON) for column in columns):
            _ARRAY_INSERTS[key] = None
        else:
            dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are unannotated
            arrays = ", ".join(
                f"CAST(:{name} AS {column.type.compile(dialect)}[])"
                for name, column in zip(names, columns, strict=True)
            )
            _ARRAY_INSERTS[key] = sa.text(
                f"INSERT INTO {table.fullname} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                "ON CONFLICT DO NOTHING"
            ).bindparams(
                *(sa.bindparam(name, type_=ARRAY(column.type)) for name, column in zip(names, columns, strict=True))
            )
    return _ARRAY_INSERTS[key]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One event in its tenant's activity feed."""

    event_id: str
    tenant_id: str
    event_type: str
    subject: str
    occurred_at: dt.datetime


_FEED_COLUMNS = ("event_id", "tenant_id", "event_type", "subject", "occurred_at")
_FEED_INSERT = sa.text(
    f"INSERT INTO {activity.fullname} ({', '.join(_FEED_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    "CAST(CAST(:event_id AS text) AS text[]), CAST(CAST(:tenant_id AS text) AS text[]), "
    "CAST(CAST(:event_type AS text) AS text[]), CAST(CAST(:subject AS text) AS text[]), "
    "CAST(:occurred_at AS timestamptz[])) ON CONFLICT DO NOTHING"
).bindparams(
    *(sa.bindparam(name, type_=sa.Text) for name in _FEED_COLUMNS[:4]),
    sa.bindparam("occurred_at", type_=ARRAY(sa.DateTime(timezone=True))),
)
"""The feed's text columns as array literals in text parameters (`text_array`): asyncpg checks each element of a
list parameter against `collections.abc` classes, a cost per event the consumer's inbox statement shed too."""


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
                "event_id": text_array([entry.event_id for entry in entries]),
                "tenant_id": text_array([entry.tenant_id for entry in entries]),
                "event_type": text_array([entry.event_type for entry in entries]),
                "subject": text_array([entry.subject for entry in entries]),
                "occurred_at": [entry.occurred_at for entry in entries],
            },
        )
