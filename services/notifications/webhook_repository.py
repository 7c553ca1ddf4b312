"""All SQL of webhooks: subscriptions and their sealed secrets, deliveries written beside the inbox, the due
ones claimed with `FOR UPDATE SKIP LOCKED` under a lease, and the attempt log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.domain.webhooks import DeliveryStatus
from services.notifications.models import webhook_attempts, webhook_deliveries, webhook_subscriptions
from shared.db import AsyncpgStatement, driver_connection, text_array


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: uuid.UUID
    tenant_id: str
    url: str
    description: str | None
    event_types: list[str]
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_expires_at: dt.datetime | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    consecutive_failures: int
    failing_since: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """What the consumer needs to fan an event out: who subscribes to which types."""

    id: uuid.UUID
    tenant_id: str
    event_types: list[str]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: uuid.UUID
    tenant_id: str
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    webhook_id: str
    body: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: uuid.UUID
    tenant_id: str
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    schedule_attempts: int
    next_attempt_at: dt.datetime
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempted_at: dt.datetime
    status_code: int | None
    duration_ms: int
    error: str | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery with what sending it needs: its body, target and the subscription's sealed secrets."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    webhook_id: str
    body: str
    schedule_attempts: int
    url: str
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_expires_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and what follows from it, ready to be written."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempted_at: dt.datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    status: DeliveryStatus
    next_attempt_at: dt.datetime
    gone: bool


@dataclass(frozen=True, slots=True)
class FailureStreak:
    id: uuid.UUID
    consecutive_failures: int
    failing_since: dt.datetime | None


_RECORD_ATTEMPTS = sa.text(
    f"""
WITH r AS (
    SELECT * FROM json_to_recordset(CAST(:results AS json)) AS r(
        delivery_id uuid, status text, next_attempt_at timestamptz, attempted_at timestamptz,
        status_code integer, duration_ms integer, error text, delivered boolean)
), logged AS (
    INSERT INTO {webhook_attempts.fullname} (delivery_id, attempted_at, status_code, duration_ms, error)
    SELECT delivery_id, attempted_at, status_code, duration_ms, error FROM r
)
UPDATE {webhook_deliveries.fullname} AS d
SET status = r.status,
    attempts = d.attempts + 1,
    schedule_attempts = d.schedule_attempts + 1,
    next_attempt_at = r.next_attempt_at,
    last_attempt_at = r.attempted_at,
    last_status_code = r.status_code,
    last_duration_ms = r.duration_ms,
    last_error = r.error,
    delivered_at = CASE WHEN r.delivered THEN r.attempted_at END
FROM r
WHERE d.id = r.delivery_id
"""  # noqa: S608 - table names from the models, values bound
)
"""A flush's attempts into the log and its deliveries moved on: one statement, the results as one JSON document."""

_SUBSCRIPTION_FIELDS = [webhook_subscriptions.c[field.name] for field in dataclasses.fields(SubscriptionRecord)]
_DELIVERY_FIELDS = [webhook_deliveries.c[field.name] for field in dataclasses.fields(DeliveryRecord)]


def _subscription(row: sa.Row[Any]) -> SubscriptionRecord:
    return SubscriptionRecord(**row._mapping)


def _delivery(row: sa.Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(**row._mapping)


class SubscriptionRepository:
    """A tenant's subscriptions; another tenant's answer None (404)."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def create(self, record: SubscriptionRecord) -> None:
        await self._session.execute(
            sa.insert(webhook_subscriptions).values(
                {column.name: getattr(record, column.name) for column in _SUBSCRIPTION_FIELDS}
            )
        )

    async def all(self) -> list[SubscriptionRecord]:
        rows = await self._session.execute(
            sa.select(*_SUBSCRIPTION_FIELDS)
            .where(webhook_subscriptions.c.tenant_id == self._tenant)
            .order_by(webhook_subscriptions.c.created_at, webhook_subscriptions.c.id)
        )
        return [_subscription(row) for row in rows]

    async def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> SubscriptionRecord | None:
        query = sa.select(*_SUBSCRIPTION_FIELDS).where(
            webhook_subscriptions.c.tenant_id == self._tenant, webhook_subscriptions.c.id == subscription_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        return _subscription(row) if row else None

    async def update(self, subscription_id: uuid.UUID, **values: Any) -> None:
        await self._session.execute(
            sa.update(webhook_subscriptions)
            .where(webhook_subscriptions.c.tenant_id == self._tenant, webhook_subscriptions.c.id == subscription_id)
            .values(**values)
        )

    async def delete(self, subscription_id: uuid.UUID) -> bool:
        result = await self._session.execute(
            sa.delete(webhook_subscriptions)
            .where(webhook_subscriptions.c.tenant_id == self._tenant, webhook_subscriptions.c.id == subscription_id)
            .returning(webhook_subscriptions.c.id)
        )
        return result.first() is not None

    async def make_pending_due(self, subscription_id: uuid.UUID, now: dt.datetime) -> int:
        """On re-enable: what waited (or was backing off) goes out at once, on a fresh retry schedule."""
        result = await self._session.execute(
            sa.update(webhook_deliveries)
            .where(
                webhook_deliveries.c.tenant_id == self._tenant,
                webhook_deliveries.c.subscription_id == subscription_id,
                webhook_deliveries.c.status == DeliveryStatus.PENDING,
            )
            .values(next_attempt_at=now, schedule_attempts=0)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class DeliveryLog:
    """A tenant's deliveries and their attempts."""

    def __init__(self, session: AsyncSession, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def find(
        self,
        *,
        subscription_id: uuid.UUID | None,
        status: DeliveryStatus | None,
        event_id: str | None,
        before: dt.datetime | None,
        limit: int,
    ) -> list[DeliveryRecord]:
        query = sa.select(*_DELIVERY_FIELDS).where(webhook_deliveries.c.tenant_id == self._tenant)
        if subscription_id is not None:
            query = query.where(webhook_deliveries.c.subscription_id == subscription_id)
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        if event_id is not None:
            query = query.where(webhook_deliveries.c.event_id == event_id)
        if before is not None:
            query = query.where(webhook_deliveries.c.created_at < before)
        query = query.order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id).limit(limit)
        return [_delivery(row) for row in await self._session.execute(query)]

    async def get(self, delivery_id: uuid.UUID) -> DeliveryRecord | None:
        row = (
            await self._session.execute(
                sa.select(*_DELIVERY_FIELDS).where(
                    webhook_deliveries.c.tenant_id == self._tenant, webhook_deliveries.c.id == delivery_id
                )
            )
        ).first()
        return _delivery(row) if row else None

    async def attempts(self, delivery_id: uuid.UUID) -> list[AttemptRecord]:
        rows = await self._session.execute(
            sa.select(
                webhook_attempts.c.attempted_at,
                webhook_attempts.c.status_code,
                webhook_attempts.c.duration_ms,
                webhook_attempts.c.error,
            )
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.id)
        )
        return [AttemptRecord(**row._mapping) for row in rows]

    async def resend(self, delivery_id: uuid.UUID, now: dt.datetime) -> None:
        """Send again now, on a fresh retry schedule, with the same `webhook-id` and body."""
        await self._session.execute(
            sa.update(webhook_deliveries)
            .where(webhook_deliveries.c.tenant_id == self._tenant, webhook_deliveries.c.id == delivery_id)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now, schedule_attempts=0)
        )


_FILTERS_FOR = AsyncpgStatement.of(
    sa.text(
        f"SELECT id, tenant_id, event_types FROM {webhook_subscriptions.fullname} "  # noqa: S608
        "WHERE tenant_id = ANY(CAST(CAST(:tenants AS text) AS text[]))"
    )
)


class WebhookStream:
    """Writes from the event stream (each event carries its tenant) and the sender's claims; across tenants."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def filters_for(self, tenants: Sequence[str]) -> list[SubscriptionFilter]:
        """Run on the session's asyncpg connection, once per consumed batch (most find none): no SQLAlchemy
        compile, bind or row processing."""
        driver = await driver_connection(self._session)
        rows = await driver.fetch(_FILTERS_FOR.sql, *_FILTERS_FOR.args(tenants=text_array(sorted(set(tenants)))))
        return [SubscriptionFilter(*row) for row in rows]

    async def add_deliveries(self, deliveries: Sequence[NewDelivery]) -> None:
        """A redelivered event finds its rows there already (one per subscription and event)."""
        if not deliveries:
            return
        await self._session.execute(
            insert(webhook_deliveries).on_conflict_do_nothing(
                index_elements=[webhook_deliveries.c.subscription_id, webhook_deliveries.c.event_id]
            ),
            [
                {
                    "id": delivery.id,
                    "tenant_id": delivery.tenant_id,
                    "subscription_id": delivery.subscription_id,
                    "event_id": delivery.event_id,
                    "event_type": delivery.event_type,
                    "webhook_id": delivery.webhook_id,
                    "body": delivery.body,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "schedule_attempts": 0,
                    "next_attempt_at": delivery.created_at,
                    "created_at": delivery.created_at,
                }
                for delivery in deliveries
            ],
        )

    async def claim_due(self, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[DueDelivery]:
        """Due deliveries of enabled subscriptions, leased until `lease_until`: another replica skips the locked
        rows now and the leased ones later; a crash before the result is written lets the lease run out."""
        due = (
            sa.select(webhook_deliveries.c.id)
            .join(webhook_subscriptions, webhook_subscriptions.c.id == webhook_deliveries.c.subscription_id)
            .where(
                webhook_deliveries.c.status == DeliveryStatus.PENDING,
                webhook_deliveries.c.next_attempt_at <= now,
                webhook_subscriptions.c.enabled,
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(of=webhook_deliveries, skip_locked=True)
            .cte("due")
        )
        leased = (
            sa.update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_(sa.select(due.c.id)))
            .values(next_attempt_at=lease_until)
            .returning(
                webhook_deliveries.c.id,
                webhook_deliveries.c.subscription_id,
                webhook_deliveries.c.webhook_id,
                webhook_deliveries.c.body,
                webhook_deliveries.c.schedule_attempts,
            )
            .cte("leased")
        )
        rows = await self._session.execute(
            sa.select(
                leased,
                webhook_subscriptions.c.url,
                webhook_subscriptions.c.secret_sealed,
                webhook_subscriptions.c.previous_secret_sealed,
                webhook_subscriptions.c.previous_secret_expires_at,
            ).join(webhook_subscriptions, webhook_subscriptions.c.id == leased.c.subscription_id)
        )
        return [DueDelivery(**row._mapping) for row in rows]

    async def record(self, results: Sequence[AttemptResult], now: dt.datetime) -> list[FailureStreak]:
        """Attempts into the log, deliveries moved on, subscriptions' failure streaks kept (a 410 disables at
        once); returns the streaks of the enabled subscriptions that failed, for the disabling rule.

        The subscriptions are locked first, in id order, as the API locks a subscription before its deliveries: a
        DELETE (which cascades to the deliveries) then waits for this transaction or this one for it, instead of
        the two deadlocking. The results of a subscription deleted meanwhile are dropped with it."""
        if not results:
            return []
        live = set(
            (
                await self._session.execute(
                    sa.select(webhook_subscriptions.c.id)
                    .where(webhook_subscriptions.c.id.in_(sorted({result.subscription_id for result in results})))
                    .order_by(webhook_subscriptions.c.id)
                    .with_for_update(key_share=True)  # FOR NO KEY UPDATE: the streak update below takes it anyway
                )
            ).scalars()
        )
        results = [result for result in results if result.subscription_id in live]
        if not results:
            return []
        await self._session.execute(
            _RECORD_ATTEMPTS,
            {
                "results": orjson.dumps(
                    [
                        {
                            "delivery_id": result.delivery_id,
                            "status": result.status.value,
                            "next_attempt_at": result.next_attempt_at,
                            "attempted_at": result.attempted_at,
                            "status_code": result.status_code,
                            "duration_ms": result.duration_ms,
                            "error": result.error,
                            "delivered": result.status is DeliveryStatus.DELIVERED,
                        }
                        for result in results
                    ],
                    default=str,
                ).decode()
            },
        )
        return await self._record_streaks(results, now)

    async def _record_streaks(self, results: Sequence[AttemptResult], now: dt.datetime) -> list[FailureStreak]:
        streaks: dict[uuid.UUID, tuple[bool, int, dt.datetime | None, bool]] = {}
        for result in sorted(results, key=lambda r: r.attempted_at):
            succeeded, failures, since, gone = streaks.get(result.subscription_id, (False, 0, None, False))
            if result.status == DeliveryStatus.DELIVERED:
                streaks[result.subscription_id] = (True, 0, None, gone)
            else:
                streaks[result.subscription_id] = (
                    succeeded,
                    failures + 1,
                    since or result.attempted_at,
                    gone or result.gone,
                )
        ordered = sorted(streaks.items())  # one lock order across replicas
        await self._session.execute(
            sa.update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == sa.bindparam("b_id"))
            .values(
                consecutive_failures=sa.case(
                    (sa.bindparam("b_reset", type_=sa.Boolean), sa.bindparam("b_failures", type_=sa.Integer)),
                    else_=webhook_subscriptions.c.consecutive_failures + sa.bindparam("b_failures", type_=sa.Integer),
                ),
                failing_since=sa.case(
                    (
                        sa.bindparam("b_failures", type_=sa.Integer) == 0,
                        sa.null(),
                    ),
                    (
                        sa.bindparam("b_reset", type_=sa.Boolean),
                        sa.bindparam("b_since", type_=sa.DateTime(timezone=True)),
                    ),
                    else_=sa.func.coalesce(
                        webhook_subscriptions.c.failing_since,
                        sa.bindparam("b_since", type_=sa.DateTime(timezone=True)),
                    ),
                ),
            )
            .execution_options(synchronize_session=False),
            [
                {"b_id": subscription_id, "b_reset": succeeded, "b_failures": failures, "b_since": since}
                for subscription_id, (succeeded, failures, since, _) in ordered
            ],
        )
        answered_gone = [subscription_id for subscription_id, (_, _, _, was_gone) in ordered if was_gone]
        if answered_gone:
            await self.disable(answered_gone, "the receiver answered 410 Gone", now)
        failing = [subscription_id for subscription_id, (_, failures, _, _) in ordered if failures]
        if not failing:
            return []
        rows = await self._session.execute(
            sa.select(
                webhook_subscriptions.c.id,
                webhook_subscriptions.c.consecutive_failures,
                webhook_subscriptions.c.failing_since,
            ).where(webhook_subscriptions.c.id.in_(failing), webhook_subscriptions.c.enabled)
        )
        return [FailureStreak(**row._mapping) for row in rows]

    async def disable(self, subscription_ids: Sequence[uuid.UUID], reason: str, now: dt.datetime) -> None:
        await self._session.execute(
            sa.update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id.in_(subscription_ids), webhook_subscriptions.c.enabled)
            .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        )
