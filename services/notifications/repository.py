"""All SQL of the notifications service; every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import activity
from shared.db import AsyncpgStatement, driver_connection, text_array


class ActivityRepository:
    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

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


_ARRAY_INSERTS: dict[tuple[str, tuple[str, ...]], AsyncpgStatement | None] = {}


def array_insert(table: sa.Table, names: tuple[str, ...]) -> AsyncpgStatement | None:
    """`INSERT ... SELECT * FROM unnest(arrays) ON CONFLICT DO NOTHING` for these columns (one parameter per column,
    an array of its type), made once and run on the session's asyncpg connection (`run_array_insert`); None when one
    is JSON, which Postgres arrays do not carry as such."""
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
            _ARRAY_INSERTS[key] = AsyncpgStatement.of(
                sa.text(
                    f"INSERT INTO {table.fullname} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
                    "ON CONFLICT DO NOTHING"
                )
            )
    return _ARRAY_INSERTS[key]


async def run_array_insert(session: AsyncSession, statement: AsyncpgStatement, columns: dict[str, Any]) -> None:
    """An insert from one array per column (`array_insert`'s, or the feed's with its text columns as `text_array`
    literals), on the session's asyncpg connection inside its transaction: no SQLAlchemy execution, bind or result
    processing per batch."""
    driver = await driver_connection(session)
    await driver.execute(statement.sql, *statement.args(**columns))


@dataclass(frozen=True, slots=True)
class FeedRows:
    """A batch's events in their tenants' activity feed, a list per column: built from the batch's envelopes in
    one pass per column (an object per event, then a list per column out of them, cost twice the Python)."""

    event_ids: list[str]
    tenant_ids: list[str]
    event_types: list[str]
    subjects: list[str]
    occurred_at: list[dt.datetime]


_FEED_INSERT = AsyncpgStatement.of(
    sa.text(
        f"INSERT INTO {activity.fullname} (event_id, tenant_id, event_type, subject, occurred_at) "  # noqa: S608
        "SELECT * FROM unnest(CAST(CAST(:event_ids AS text) AS text[]), CAST(CAST(:tenant_ids AS text) AS text[]), "
        "CAST(CAST(:event_types AS text) AS text[]), CAST(CAST(:subjects AS text) AS text[]), "
        "CAST(:occurred_at AS timestamptz[]))"
    )
)
"""The feed's text columns as array literals in text parameters (`text_array`): asyncpg checks each element of a
list parameter against `collections.abc` classes, a cost per event the consumer's inbox statement shed too. A plain
INSERT: the feed has no key to conflict on (notifications 0009); once per event is the inbox's work."""


class ActivityFeed:
    """Writes from the event stream, which carries each event's tenant itself."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, rows: FeedRows) -> None:
        """One statement for the batch, on the session's asyncpg connection (as the consumer's inbox insert): no
        SQLAlchemy execution, bind or result processing per batch. Every row is written: call it only with the
        events the consumer's inbox took as new in this transaction (the handlers are given nothing else), which is
        what keeps the feed to one row per event."""
        if not rows.event_ids:
            return
        await run_array_insert(
            self._session,
            _FEED_INSERT,
            {
                "event_ids": text_array(rows.event_ids),
                "tenant_ids": text_array(rows.tenant_ids),
                "event_types": text_array(rows.event_types),
                "subjects": text_array(rows.subjects),
                "occurred_at": rows.occurred_at,
            },
        )
