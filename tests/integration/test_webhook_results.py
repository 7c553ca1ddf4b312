"""The webhook sender's results against a subscription being deleted, on the real database: the DELETE (which
cascades to the deliveries and their log) and the write of results that were in flight must neither deadlock nor
fail, and results for a deleted subscription are dropped, not retried forever."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
import pytest

from services.notifications.domain.secret_box import DEVELOPMENT_KEY, SecretBox
from services.notifications.domain.webhooks import DeliveryStatus, TargetPolicy, webhook_id
from services.notifications.webhook_repository import AttemptResult, DueDelivery, NewDelivery, WebhookStream
from services.notifications.webhooks import Subscriptions
from shared.db import create_engine, create_sessionmaker, unit_of_work
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration


def delivered(delivery: DueDelivery) -> AttemptResult:
    now = dt.datetime.now(dt.UTC)
    return AttemptResult(
        delivery_id=delivery.id,
        subscription_id=delivery.subscription_id,
        attempted_at=now,
        status_code=204,
        duration_ms=3,
        error=None,
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=now,
        gone=False,
    )


async def _blocked_on_a_lock(admin: asyncpg.Connection, query_start: str) -> bool:
    waiting = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE $1",
        query_start + "%",
    )
    return bool(waiting)


async def test_results_written_while_their_subscription_is_deleted_are_dropped_and_the_delete_succeeds(
    pipeline: Pipeline, admin_db: asyncpg.Connection
) -> None:
    engine = create_engine(pipeline.role_url("notifications"), pool_size=3)
    sessions = create_sessionmaker(engine)
    tenant = new_tenant()
    box, policy = SecretBox(DEVELOPMENT_KEY), TargetPolicy(allow_private=True)
    try:
        subscription_ids = []
        async with unit_of_work(sessions) as session:
            for _ in range(3):
                record, _ = await Subscriptions(session, tenant, box, policy).create(
                    url="http://127.0.0.1:9/hook", event_types=[], description=None
                )
                subscription_ids.append(record.id)
        now = dt.datetime.now(dt.UTC)
        async with unit_of_work(sessions) as session:
            await WebhookStream(session).add_deliveries(
                [
                    NewDelivery(
                        id=uuid.uuid4(),
                        tenant_id=tenant,
                        subscription_id=subscription_id,
                        event_id=f"event-{n}",
                        event_type="claim-denied.v1",
                        webhook_id=webhook_id(subscription_id, f"event-{n}"),
                        body="{}",
                        created_at=now,
                    )
                    for subscription_id in subscription_ids
                    for n in range(2)
                ]
            )
        async with unit_of_work(sessions) as session:
            lease = now + dt.timedelta(seconds=60)
            claimed = [
                delivery
                for delivery in await WebhookStream(session).claim_due(now, lease, 10_000)
                if delivery.subscription_id in subscription_ids
            ]
        assert len(claimed) == 6
        gone_first, deleted_meanwhile, kept = subscription_ids

        # Deleted before its results are written: they are dropped (an error here would repeat every round).
        async with unit_of_work(sessions) as session:
            await Subscriptions(session, tenant, box, policy).delete(gone_first)

        # Deleted while the results are being written: one waits for the other, neither fails.
        deleting = await asyncpg.connect(pipeline.admin_url)
        try:
            transaction = deleting.transaction()
            await transaction.start()
            await deleting.execute("DELETE FROM notifications.webhook_subscriptions WHERE id = $1", deleted_meanwhile)

            async def write_results() -> None:
                async with unit_of_work(sessions) as session:
                    await WebhookStream(session).record([delivered(d) for d in claimed], dt.datetime.now(dt.UTC))

            writing = asyncio.create_task(write_results())

            async def waiting_or_done() -> bool:
                if writing.done():
                    writing.result()  # an error here is what the sender would have repeated round after round
                    return True
                return await _blocked_on_a_lock(admin_db, "SELECT notifications.webhook_subscriptions.id")

            await eventually(waiting_or_done, what="the results' write waiting for the DELETE")
            await transaction.commit()
            await asyncio.wait_for(writing, 30)
        finally:
            await deleting.close()

        rows = await admin_db.fetch(
            "SELECT d.subscription_id, d.status, count(a.id) AS attempts FROM notifications.webhook_deliveries d"
            " LEFT JOIN notifications.webhook_attempts a ON a.delivery_id = d.id WHERE d.tenant_id = $1"
            " GROUP BY d.id, d.subscription_id, d.status",
            tenant,
        )
        assert sorted((row["subscription_id"], row["status"], row["attempts"]) for row in rows) == [
            (kept, "delivered", 1),
            (kept, "delivered", 1),
        ]
    finally:
        await engine.dispose()
