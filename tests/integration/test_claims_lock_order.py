"""A batch of payments locks its claims in id order, as every other writer of claims does: a `payment-received`
batch naming two claims in the remittance's order (higher id first) and an acknowledgment round holding the lower
one and then asking for the higher one both commit, where locking claim by claim in payment order deadlocked them
(seen in CI as a 277CA round failing with `DeadlockDetectedError` and its claims paid before they were accepted)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.app import DEFINITION
from services.claims.service import build_claims
from services.claims.settings import ClaimsSettings
from services.claims.tracking import apply_payments
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import Adjustment, PaymentReceivedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox
from tests.support.encounters import example
from tests.support.pipeline import Pipeline, new_tenant, role_waits_on_a_lock

pytestmark = pytest.mark.integration
SETTINGS = ClaimsSettings()
OUTBOX = Outbox(DEFINITION.messaging.outbox, source="/claimflow/claims")
LOCK_ONE = sa.text("SELECT id FROM claims.claims WHERE id = :id FOR UPDATE")


@pytest.fixture
async def sessions(pipeline: Pipeline) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pipeline.role_url("claims"), pool_size=3)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def submitted_claims(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection, tenant: str
) -> list[asyncpg.Record]:
    envelopes = [
        EventEnvelope.new(source="test", subject=str(e.encounter_id), tenant=tenant, payload=e).replace()
        for e in (example("professional") for _ in range(2))
    ]
    async with unit_of_work(sessions) as session:
        assert await build_claims(session, envelopes, SETTINGS, dt.date.today()) == 2
    return await admin_db.fetch(
        "UPDATE claims.claims SET state = 'submitted' WHERE tenant_id = $1 "
        "RETURNING id, claim_control_number, total_charge_cents",
        tenant,
    )


def paid_in_full(tenant: str, claim: asyncpg.Record) -> EventEnvelope:
    charge = claim["total_charge_cents"]
    payment = PaymentReceivedV1(
        payment_id=uuid.uuid4(), claim_id=claim["id"], claim_control_number=claim["claim_control_number"],
        payer_id="SANDBOX", trace_number="EFT-LOCKS", claim_status_code="1", charge_cents=charge,
        paid_cents=charge - 500, patient_responsibility_cents=0,
        adjustments=[Adjustment(group="CO", carc="45", amount_cents=500)],
        next_responsible="none", paid_date=dt.date.today(),
    )  # fmt: skip
    return EventEnvelope.new(source="test", subject=str(claim["id"]), tenant=tenant, payload=payment)


async def test_payments_and_an_acknowledgment_round_lock_claims_in_one_order_and_never_deadlock(
    sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    low, high = sorted(await submitted_claims(sessions, admin_db, tenant), key=lambda claim: claim["id"])

    async def pay_in_remittance_order() -> int:
        async with unit_of_work(sessions) as session:
            in_remittance_order = [paid_in_full(tenant, high), paid_in_full(tenant, low)]
            return await apply_payments(session, OUTBOX, in_remittance_order, SETTINGS, dt.datetime.now(dt.UTC))

    async with unit_of_work(sessions) as acknowledging:  # as an acknowledgment round: claims in id order
        await acknowledging.execute(LOCK_ONE, {"id": low["id"]})
        payments = asyncio.create_task(pay_in_remittance_order())
        async with asyncio.timeout(30):
            while not await role_waits_on_a_lock(admin_db, "claims"):  # the payments wait for the lower claim …
                assert not payments.done(), payments.exception()
                await asyncio.sleep(0.02)
        # … holding nothing the round needs next: it takes the higher claim without waiting (lock_timeout makes a
        # wait fail here rather than end in the deadlock detector's choice of victim)
        await acknowledging.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        await acknowledging.execute(LOCK_ONE, {"id": high["id"]})
    assert await asyncio.wait_for(payments, 30) == 2

    states = await admin_db.fetch("SELECT state FROM claims.claims WHERE tenant_id = $1", tenant)
    assert [row["state"] for row in states] == ["paid", "paid"]
    assert await admin_db.fetchval("SELECT count(*) FROM claims.claim_payments WHERE tenant_id = $1", tenant) == 2
