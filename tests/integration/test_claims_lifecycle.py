"""`lifecycle.change_states`, the one path of claim state changes, against the claims schema in the real
Postgres: it reads the row's state under FOR UPDATE (not what the caller believes), walks the state
machine, and writes state, history and `claim-status-changed` in the caller's transaction; a refused
step writes nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.app import DEFINITION
from services.claims.domain.claim_state import ClaimState, IllegalTransition
from services.claims.lifecycle import ClaimNotFound, StateChange, StatusNotice, change_states, to
from services.claims.records import ClaimContents, NewClaim, StateColumns
from services.claims.repository import ClaimStates, StreamWrites
from shared.db import unit_of_work
from shared.messaging.outbox import Outbox
from tests.support.pipeline import new_tenant

pytestmark = pytest.mark.integration
OUTBOX = Outbox(DEFINITION.messaging.outbox, source="/claimflow/claims")


async def new_claim(claims_sessions: async_sessionmaker[AsyncSession], tenant: str, state: ClaimState) -> uuid.UUID:
    claim_id = uuid.uuid4()
    contents = ClaimContents(
        claim_type="professional",
        payer_id="PAYER1",
        patient_id=uuid.uuid4(),
        frequency_code="1",
        service_date_from=dt.date(2026, 11, 2),
        service_date_to=dt.date(2026, 11, 2),
        total_charge_cents=12_500,
        currency="USD",
        line_count=0,
        document={},
    )
    claim = NewClaim(claim_id, tenant, uuid.uuid4(), f"CF{uuid.uuid4().hex[:10]}", state, [], contents)
    async with unit_of_work(claims_sessions) as session:
        assert (await StreamWrites(session).insert_claims([claim])).keys() == {claim_id}
    return claim_id


async def claim_state(admin_db: asyncpg.Connection, claim_id: uuid.UUID) -> tuple[str, int, int]:
    row = await admin_db.fetchrow(
        "SELECT c.state, (SELECT count(*) FROM claims.claim_status_history h WHERE h.claim_id = c.id) AS history, "
        "(SELECT count(*) FROM claims.outbox o WHERE o.message_key = c.id::text) AS events "
        "FROM claims.claims c WHERE c.id = $1",
        claim_id,
    )
    assert row is not None
    return row["state"], row["history"], row["events"]


async def test_a_change_walks_the_real_state_and_writes_state_history_and_event_together(
    claims_sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    claim_id = await new_claim(claims_sessions, tenant, ClaimState.BATCHED)
    notice = StatusNotice("277CA", dt.datetime.now(dt.UTC), ("A7:164:IL",), None)
    rejected = StateChange(
        claim_id,
        lambda state: [ClaimState.SUBMITTED, ClaimState.REJECTED] if state is ClaimState.BATCHED else [],
        ["sent", "277CA rejected"],
        StateColumns(rejection_reasons=[{"source": "277CA", "code": "A7:164:IL"}]),
        notice,
    )
    async with unit_of_work(claims_sessions) as session:
        (moved,) = await change_states(session, OUTBOX, [rejected])
    assert moved.steps == [(ClaimState.BATCHED, ClaimState.SUBMITTED), (ClaimState.SUBMITTED, ClaimState.REJECTED)]
    assert await claim_state(admin_db, claim_id) == ("rejected", 2, 1)
    history = await admin_db.fetch(
        "SELECT from_state, to_state, reason FROM claims.claim_status_history WHERE claim_id = $1 ORDER BY id",
        claim_id,
    )
    assert [tuple(row) for row in history] == [
        ("batched", "submitted", "sent"),
        ("submitted", "rejected", "277CA rejected"),
    ]
    event = await admin_db.fetchrow(
        "SELECT event_type, payload FROM claims.outbox WHERE message_key = $1", str(claim_id)
    )
    assert event is not None and event["event_type"] == "claim-status-changed.v1"
    data = json.loads(event["payload"])
    assert (data["from_state"], data["to_state"]) == ("batched", "rejected")


async def test_a_refused_step_raises_and_writes_nothing(
    claims_sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    claim_id = await new_claim(claims_sessions, new_tenant(), ClaimState.PAID)
    with pytest.raises(IllegalTransition, match="from paid to on_hold"):
        async with unit_of_work(claims_sessions) as session:
            await change_states(
                session,
                OUTBOX,
                [
                    StateChange(
                        claim_id,
                        to(ClaimState.ON_HOLD),
                        "held",
                        notice=StatusNotice("835", dt.datetime.now(dt.UTC)),
                    )
                ],
            )
    assert await claim_state(admin_db, claim_id) == ("paid", 0, 0)


async def test_the_route_sees_the_state_in_the_row_not_the_one_the_caller_read(
    claims_sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    """A payment after a reversal: the claim was paid, then reopened (accepted); the route decides on that."""
    claim_id = await new_claim(claims_sessions, new_tenant(), ClaimState.PAID)
    async with unit_of_work(claims_sessions) as session:
        await change_states(session, OUTBOX, [StateChange(claim_id, to(ClaimState.ACCEPTED), "835 reversal")])
    seen: list[ClaimState] = []

    def route(state: ClaimState) -> list[ClaimState]:
        seen.append(state)
        return [ClaimState.DENIED]

    async with unit_of_work(claims_sessions) as session:
        await change_states(session, OUTBOX, [StateChange(claim_id, route, "835 denied")])
        assert await ClaimStates(session).count_by_state()
    assert seen == [ClaimState.ACCEPTED]
    assert (await claim_state(admin_db, claim_id))[:2] == ("denied", 2)


async def test_an_unknown_claim_is_refused(claims_sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ClaimNotFound):
        async with unit_of_work(claims_sessions) as session:
            await change_states(session, OUTBOX, [StateChange(uuid.uuid4(), to(ClaimState.SCRUBBED), "x")])
