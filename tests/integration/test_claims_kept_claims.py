"""The batcher writes a claim this process built READY as it kept it only while nothing has written the claim's row
since its insert (its row version, `xmin`); a claim written since (fixed, released) is built again from its stored
document: the 837 and `claim-submitted` carry what the row holds, never a stale copy."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.app import DEFINITION
from services.claims.domain.claim_state import ClaimState
from services.claims.repository import ClaimRepository
from services.claims.service import _contents, batch_ready_claims, build_claims
from services.claims.settings import ClaimsSettings
from shared.db import unit_of_work
from shared.events.envelope import EventEnvelope
from shared.messaging.outbox import Outbox
from shared.patient_match import MemberDigest
from tests.support.encounters import example
from tests.support.pipeline import new_tenant

pytestmark = pytest.mark.integration
OUTBOX = Outbox(DEFINITION.messaging.outbox, source="/claimflow/claims")
SETTINGS = ClaimsSettings()


async def _claim_of(admin_db: asyncpg.Connection, tenant: str, encounter_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    row = await admin_db.fetchrow(
        "SELECT id, state FROM claims.claims WHERE tenant_id = $1 AND encounter_id = $2", tenant, encounter_id
    )
    assert row is not None
    return row["id"], row["state"]


async def test_a_claim_written_since_its_build_is_batched_from_its_stored_document(
    claims_sessions: async_sessionmaker[AsyncSession], admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    encounters = [
        example("professional").model_copy(update={"encounter_id": uuid.uuid4(), "patient_id": uuid.uuid4()})
        for _ in range(2)
    ]
    envelopes = [
        EventEnvelope.new(source="test", subject=str(e.encounter_id), tenant=tenant, payload=e).replace()
        for e in encounters
    ]
    async with unit_of_work(claims_sessions) as session:
        assert await build_claims(session, envelopes, SETTINGS, dt.date.today()) == 2
    (kept_id, kept_state), (changed_id, changed_state) = [
        await _claim_of(admin_db, tenant, e.encounter_id) for e in encounters
    ]
    assert kept_state == changed_state == ClaimState.READY.value

    changed = encounters[1]
    repriced = changed.model_copy(
        update={"lines": [line.model_copy(update={"charge_cents": 99_900})
                          for line in changed.lines]}
    )  # fmt: skip
    async with unit_of_work(claims_sessions) as session:  # as a fix and a release would: the row is written again
        await ClaimRepository(session, tenant).update_contents(changed_id, _contents(repriced))

    for _ in range(50):  # bounded: the oldest READY claims of every tenant come first
        async with unit_of_work(claims_sessions) as session:
            await batch_ready_claims(session, OUTBOX, SETTINGS, dt.datetime.now(dt.UTC), MemberDigest(b"k" * 32))
        states = {(await _claim_of(admin_db, tenant, e.encounter_id))[1] for e in encounters}
        if ClaimState.READY.value not in states:
            break
    totals = {
        row["message_key"]: int(row["total"])
        for row in await admin_db.fetch(
            "SELECT message_key, payload ->> 'total_charge_cents' AS total FROM claims.outbox "
            "WHERE tenant_id = $1 AND event_type = 'claim-submitted.v1'",
            tenant,
        )
    }
    original = sum(line.charge_cents or 0 for line in encounters[0].lines)
    assert totals == {str(kept_id): original, str(changed_id): 99_900 * len(changed.lines)}
