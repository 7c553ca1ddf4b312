"""All SQL of ops alerts: each claim's latest state from the events, how far each dead-letter topic has grown,
and what was last told about each alert. Operator-wide, not per tenant: alerts go to the operator."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.domain.alerts import AlertState, Notice, NoticeKind, StuckClaims
from services.notifications.models import claim_states, dead_letter_marks, ops_alerts

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class ClaimStateSeen:
    claim_id: uuid.UUID
    tenant_id: str
    state: str
    since: dt.datetime


class AlertStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self) -> bool:
        """One replica evaluates at a time (until its transaction ends); the others skip the round."""
        return bool(
            await self._session.scalar(
                sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtext("claimflow-notifications-alerts")))
            )
        )

    async def track_claims(self, seen: Sequence[ClaimStateSeen]) -> None:
        """Latest wins by the time the event says it happened, whatever order the topics deliver in."""
        latest: dict[uuid.UUID, ClaimStateSeen] = {}
        for claim in seen:
            if claim.claim_id not in latest or claim.since >= latest[claim.claim_id].since:
                latest[claim.claim_id] = claim
        if not latest:
            return
        statement = insert(claim_states)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[claim_states.c.claim_id],
                set_={"state": statement.excluded.state, "since": statement.excluded.since},
                where=claim_states.c.since <= statement.excluded.since,
            ),
            [
                {"claim_id": claim.claim_id, "tenant_id": claim.tenant_id, "state": claim.state, "since": claim.since}
                for claim in sorted(latest.values(), key=lambda c: c.claim_id)
            ],
        )

    async def stuck_claims(self, thresholds_s: Mapping[str, float], now: dt.datetime) -> list[StuckClaims]:
        found: list[StuckClaims] = []
        for state, threshold_s in sorted(thresholds_s.items()):
            row = (
                await self._session.execute(
                    sa.select(sa.func.count(), sa.func.min(claim_states.c.since)).where(
                        claim_states.c.state == state,
                        claim_states.c.since < now - dt.timedelta(seconds=threshold_s),
                    )
                )
            ).one()
            if row[0]:
                found.append(StuckClaims(state=state, count=int(row[0]), oldest_since=row[1]))
        return found

    async def mark_dead_letters(self, sizes: Mapping[str, int], now: dt.datetime) -> dict[str, tuple[int, dt.datetime]]:
        """Store each dead-letter topic's size; returns every topic's size and when it last grew (what was there
        at the first look is history, not an arrival: it counts as grown at the epoch)."""
        marks = {
            row.topic: (int(row.end_offset), row.advanced_at)
            for row in await self._session.execute(sa.select(dead_letter_marks))
        }
        for topic, size in sorted(sizes.items()):
            previous = marks.get(topic)
            if previous is None:
                marks[topic] = (size, NEVER)
                await self._session.execute(
                    insert(dead_letter_marks).values(topic=topic, end_offset=size, advanced_at=NEVER)
                )
            elif size > previous[0]:
                marks[topic] = (size, now)
                await self._session.execute(
                    sa.update(dead_letter_marks)
                    .where(dead_letter_marks.c.topic == topic)
                    .values(end_offset=size, advanced_at=now)
                )
        return marks

    async def states(self) -> dict[str, AlertState]:
        rows = await self._session.execute(sa.select(ops_alerts))
        return {row.key: AlertState(**row._mapping) for row in rows}

    async def told(self, notice: Notice, now: dt.datetime) -> None:
        firing = notice.kind is NoticeKind.FIRING
        statement = insert(ops_alerts).values(
            key=notice.key,
            firing=firing,
            summary=notice.summary,
            first_fired_at=notice.since,
            last_notified_at=now,
            resolved_at=None if firing else now,
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[ops_alerts.c.key],
                set_={
                    "firing": statement.excluded.firing,
                    "summary": statement.excluded.summary,
                    "first_fired_at": statement.excluded.first_fired_at,
                    "last_notified_at": statement.excluded.last_notified_at,
                    "resolved_at": statement.excluded.resolved_at,
                },
            )
        )
