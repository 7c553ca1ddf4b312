"""The scrubber's duplicate-service rule against the claims the database holds: a service already billed for the
patient, payer, date and procedure holds the new claim, whether billed by an earlier batch or earlier in the same
batch; a held claim bills nothing; a claim scrubbed again does not duplicate itself; and the lookup asks only for
the visits of the batch, not for every date of every patient in it."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.records import Visit
from services.claims.repository import StreamWrites
from services.claims.service import build_claims
from services.claims.settings import ClaimsSettings
from shared.db import driver_connection, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope
from tests.support.encounters import example
from tests.support.pipeline import new_tenant

pytestmark = pytest.mark.integration
SETTINGS = ClaimsSettings()


def _visit(patient_id: uuid.UUID, day: dt.date) -> EncounterCodedV1:
    """The professional example as a new encounter of `patient_id`, every line on `day`."""
    encounter = example("professional", patient_id=patient_id)
    lines = [line.model_copy(update={"service_date": day}) for line in encounter.lines]
    return encounter.model_copy(update={"lines": lines, "service_date_from": day, "service_date_to": day})


async def _build(
    claims_sessions: async_sessionmaker[AsyncSession], tenant: str, encounters: list[EncounterCodedV1]
) -> list[tuple[uuid.UUID, str, set[str]]]:
    """Each encounter's claim after one consumed batch: its id, state and the rules that found something."""
    envelopes = [
        EventEnvelope.new(source="test", subject=str(e.encounter_id), tenant=tenant, payload=e).replace()
        for e in encounters
    ]
    async with unit_of_work(claims_sessions) as session:
        assert await build_claims(session, envelopes, SETTINGS, dt.date.today()) == len(encounters)
    async with unit_of_work(claims_sessions) as session:
        rows = {
            row["encounter_id"]: row
            for row in await (await driver_connection(session)).fetch(
                "SELECT id, encounter_id, state, findings::text AS findings FROM claims.claims WHERE tenant_id = $1",
                tenant,
            )
        }
    return [
        (
            rows[e.encounter_id]["id"],
            rows[e.encounter_id]["state"],
            {finding["rule_id"] for finding in orjson.loads(rows[e.encounter_id]["findings"])},
        )
        for e in encounters
    ]


async def test_a_service_billed_before_or_earlier_in_the_batch_holds_the_claim_and_a_held_one_bills_nothing(
    claims_sessions: async_sessionmaker[AsyncSession],
) -> None:
    tenant = new_tenant()
    patient = uuid.uuid4()
    day = example("professional").service_date_from
    visits = [_visit(patient, day), _visit(patient, day), _visit(patient, day + dt.timedelta(days=1))]
    first, again_in_batch, next_day = await _build(claims_sessions, tenant, visits)
    assert first[1] == "ready" and "duplicate.claim" not in first[2]
    assert again_in_batch[1] == "on_hold" and "duplicate.claim" in again_in_batch[2]  # earlier in the same batch
    assert next_day[1] == "ready" and "duplicate.claim" not in next_day[2]

    (again_later, other_day) = await _build(
        claims_sessions, tenant, [_visit(patient, day), _visit(patient, day + dt.timedelta(days=2))]
    )
    assert again_later[1] == "on_hold" and "duplicate.claim" in again_later[2]  # billed by an earlier batch
    assert other_day[1] == "ready" and "duplicate.claim" not in other_day[2]

    other_patient = await _build(claims_sessions, tenant, [_visit(uuid.uuid4(), day)])
    assert other_patient[0][1] == "ready"

    async with unit_of_work(claims_sessions) as session:
        writes = StreamWrites(session)
        on_day = Visit(tenant, patient, "SANDBOX", day)
        billed = await writes.billed_services([on_day, Visit(tenant, patient, "OTHER", day)])
        # only the visits asked for: the next day's claim (same patient, same batch) is not among them
        assert billed == {tenant: {(str(patient), "SANDBOX", day, "99213"), (str(patient), "SANDBOX", day, "87880")}}
        # the first claim excluded (as when it is scrubbed again), the day's other claims are both held: none bills
        assert await writes.billed_services([on_day], exclude=[first[0]]) == {tenant: set()}
        other = new_tenant()
        assert await writes.billed_services([Visit(other, patient, "SANDBOX", day)]) == {other: set()}
