"""Outbox.add_many: an event given its own trace context carries it; the others carry the caller's. Both
the multi-row INSERT and the COPY path (a large batch), in a transaction rolled back after reading."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.remittance.app import DEFINITION
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import PatientPaymentReceivedV1
from shared.messaging.outbox import COPY_AT_LEAST, Outbox, OutgoingEvent
from tests.support.pipeline import Pipeline, new_tenant

pytestmark = pytest.mark.integration
TABLE = DEFINITION.messaging.outbox
OUTBOX = Outbox(TABLE, source="/claimflow/remittance")
CLAIMS_TRACE = {"traceparent": "00-5cf92f3577b34da6a3ce929d0e0e4731-a0f067aa0ba902b7-01"}
tracer = TracerProvider().get_tracer("test")


@pytest.fixture
async def sessions(pipeline: Pipeline) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pipeline.role_url("remittance"), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


def payment() -> PatientPaymentReceivedV1:
    return PatientPaymentReceivedV1(
        payment_id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        amount_cents=100,
        method="card",
        received_on=dt.date(2026, 11, 2),
    )


@pytest.mark.parametrize("count", [2, COPY_AT_LEAST], ids=["insert", "copy"])
async def test_each_event_carries_its_own_trace_context_else_the_callers(
    sessions: async_sessionmaker[AsyncSession], count: int
) -> None:
    events: list[OutgoingEvent] = [("own", payment(), CLAIMS_TRACE), ("none", payment(), None)]
    events += [("caller", payment()) for _ in range(count - 2)]
    async with sessions() as session, session.begin():
        with tracer.start_as_current_span("periodic round"):
            callers: dict[str, str] = {}
            propagate.inject(callers)
            envelopes = await OUTBOX.add_many(session, tenant=new_tenant(), events=events)
        ids = [uuid.UUID(e.id) for e in envelopes]
        stored = dict(
            (await session.execute(sa.select(TABLE.c.message_key, TABLE.c.envelope).where(TABLE.c.event_id.in_(ids))))
            .tuples()
            .all()
        )
        await session.rollback()
    assert len(envelopes) == count and len(stored) == min(count, 3)
    assert stored["own"]["trace_headers"] == CLAIMS_TRACE
    assert callers["traceparent"] != CLAIMS_TRACE["traceparent"]
    assert stored["none"]["trace_headers"] == callers
    if count > 2:
        assert stored["caller"]["trace_headers"] == callers
