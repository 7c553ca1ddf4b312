"""`claimflow_claims_by_state` agrees with the database: read from it at scrape time, so a state change
(or a claim the database no longer has in a state) shows on the next scrape, with no counter to drift."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from services.claims.domain.claim_state import ClaimState
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import (
    Pipeline,
    ServiceProcess,
    coded_encounter,
    eventually,
    metric_total,
    new_tenant,
    produce,
)

pytestmark = pytest.mark.integration
GAUGE = "claimflow_claims_by_state"


async def gauge(claims: ServiceProcess) -> dict[str, int]:
    return {state.value: int(await metric_total(claims, GAUGE, state=state.value)) for state in ClaimState}


async def database(admin_db: asyncpg.Connection) -> dict[str, int]:
    rows = await admin_db.fetch("SELECT state, count(*) AS n FROM claims.claims GROUP BY state")
    counts = {state.value: 0 for state in ClaimState}
    counts.update({row["state"]: int(row["n"]) for row in rows})
    return counts


async def fhir_claim_responses_follow_the_state(
    services: Pipeline, claims: ServiceProcess, tenant: str, *, rejected: str, paid: str
) -> None:
    """The same states read the FHIR way: GET /fhir/ClaimResponse/{id}."""
    headers = services.auth(tenant, "claims:read")
    async with httpx.AsyncClient(base_url=claims.base_url, headers=headers) as client:
        error, complete = [(await client.get(f"/fhir/ClaimResponse/{claim_id}")) for claim_id in (rejected, paid)]
        missing = await client.get(f"/fhir/ClaimResponse/{uuid.uuid4()}")
    assert error.headers["content-type"] == "application/fhir+json"
    assert (error.json()["resourceType"], error.json()["outcome"]) == ("ClaimResponse", "error")
    assert (complete.json()["id"], complete.json()["outcome"]) == (paid, "complete")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"


async def test_the_claims_by_state_gauge_follows_the_database(services: Pipeline, admin_db: asyncpg.Connection) -> None:
    claims = await services.start(
        "claims", CLAIMFLOW_CLAIMS_RUN_BATCHING="false", CLAIMFLOW_CLAIMS_RUN_SENDING="false"
    )  # nothing moves the claims but this test
    tenant = new_tenant()
    for _ in range(3):
        envelope = EventEnvelope.new(
            source="/tests",
            subject=str(encounter_id := uuid.uuid4()),
            tenant=tenant,
            payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
        )
        key, value, headers = to_kafka(envelope)
        await produce(services.kafka_bootstrap_servers, ENCOUNTER_CODED.name, key=key, value=value, headers=headers)

    async def built() -> list[str]:
        rows = await admin_db.fetch("SELECT id::text FROM claims.claims WHERE tenant_id = $1", tenant)
        return [row["id"] for row in rows] if len(rows) == 3 else []

    ids = await eventually(built, what="three claims built from encounter-coded")
    assert await gauge(claims) == await database(admin_db)

    await admin_db.execute(
        "UPDATE claims.claims SET state = 'submitted' WHERE tenant_id = $1 AND id = ANY($2::uuid[])", tenant, ids
    )
    before = await gauge(claims)
    assert before == await database(admin_db) and before["submitted"] >= 3

    await admin_db.execute("UPDATE claims.claims SET state = 'rejected' WHERE id = ANY($1::uuid[])", ids[:2])
    await admin_db.execute("UPDATE claims.claims SET state = 'paid' WHERE id = $1::uuid", ids[2])
    after = await gauge(claims)
    assert after == await database(admin_db)  # the very next scrape: no refresh interval to wait for
    await fhir_claim_responses_follow_the_state(services, claims, tenant, rejected=ids[0], paid=ids[2])
    assert after["submitted"] == before["submitted"] - 3
    assert after["rejected"] == before["rejected"] + 2 and after["paid"] == before["paid"] + 1

    await admin_db.execute("UPDATE claims.claims SET state = 'denied' WHERE id = ANY($1::uuid[])", ids[:2])
    last = await gauge(claims)
    assert last == await database(admin_db)
    assert last["rejected"] == before["rejected"]  # back where it was (0 in a fresh database), not its last count
