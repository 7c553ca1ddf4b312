"""Published outbox rows are kept for a while (an operator can look an event up, the relay's mark shows when it went
out), then deleted: an outbox that only grows costs disk, vacuum time and backups for rows Kafka already holds.

Unpublished rows are never deleted, whatever their age. Each round looks at the table's oldest `OUTBOX_PRUNE_BATCH`
rows by id and deletes those published before the retention (skipping rows another transaction holds); a round that
deleted its whole window is followed by the next at once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from shared.periodic import Periodic

OUTBOX_PRUNE_BATCH = 5_000
OUTBOX_PRUNE_INTERVAL_S = 600.0

OUTBOX_PRUNED = Counter(
    "claimflow_outbox_pruned_total", "Published outbox rows deleted after their retention period.", ["service"]
)


def prune_published(outbox: sa.Table) -> sa.TextClause:
    """Delete the rows published before `:cutoff` among the table's oldest `:limit` rows by id; returns how many
    went. Only that window of the primary key is read, so a round's cost does not grow with the table (a filter on
    `published_at` over the whole table would read every row when none is old enough, as is usual between rounds);
    rows are written in id order and published after they are written, so the oldest published are in that window
    unless rows left unpublished fill it."""
    name = f"{outbox.schema}.{outbox.name}" if outbox.schema else outbox.name
    return sa.text(
        f"WITH window_end AS (SELECT max(id) AS id FROM (SELECT id FROM {name} ORDER BY id LIMIT :limit) oldest), "  # noqa: S608 - names from the model
        f"pruned AS (DELETE FROM {name} WHERE id = ANY(ARRAY("
        f"SELECT id FROM {name} WHERE id <= (SELECT id FROM window_end) AND published_at < :cutoff "
        "FOR UPDATE SKIP LOCKED)) RETURNING 1) "
        "SELECT count(*) FROM pruned"
    ).bindparams(sa.bindparam("cutoff", type_=sa.DateTime(timezone=True)), sa.bindparam("limit", type_=sa.Integer))


async def prune_outbox(
    session: AsyncSession, outbox: sa.Table, *, now: dt.datetime, retention: dt.timedelta, limit: int
) -> int:
    """One round: the number of rows published longer than `retention` ago deleted among the oldest `limit`."""
    pruned = await session.execute(prune_published(outbox), {"cutoff": now - retention, "limit": limit})
    return int(pruned.scalar_one())


def outbox_pruning(
    service: str, sessions: async_sessionmaker[AsyncSession], outbox: sa.Table, retention_days: int
) -> Periodic | None:
    """The periodic pruning of a service's outbox (None when `retention_days` is 0: rows are kept for ever)."""
    if retention_days <= 0:
        return None
    retention = dt.timedelta(days=retention_days)

    async def round_() -> bool:
        async with unit_of_work(sessions) as session:
            pruned = await prune_outbox(
                session, outbox, now=dt.datetime.now(dt.UTC), retention=retention, limit=OUTBOX_PRUNE_BATCH
            )
        OUTBOX_PRUNED.labels(service).inc(pruned)
        return pruned == OUTBOX_PRUNE_BATCH

    return Periodic("outbox-pruning", OUTBOX_PRUNE_INTERVAL_S, round_)
