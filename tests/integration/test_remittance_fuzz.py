"""Mutated 835s posted to the real remittance service: never a 5xx, and what posts keeps its books
(issue 11, item 9). Bounded to run in seconds; `bench/fuzz_835.py --api` runs longer."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from services.remittance.handlers import on_claim_submitted
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from tests.support.mutated_835 import mutants
from tests.support.pipeline import Pipeline, new_tenant

pytestmark = pytest.mark.integration
MUTANTS = 120
X12 = {"content-type": "application/edi-x12"}
FUZZ_CLAIMS = {
    "FUZZ-1": [("99213", 15500)],
    "FUZZ-2": [("99214", 20000)],
    "FUZZ-3": [("99213", 15500), ("81002", 5000)],
    "SYN-CLAIM-1": [("99213", 105000)],
    "SYN-MIN-1": [("99212", 12000)],
}
"""Claims of the mutator's base files, submitted so that mutants are posted to claims, not only suspended."""


def _claim_submitted(tenant: str, control_number: str, lines: list[tuple[str, int]]) -> EventEnvelope:
    claim_id = uuid.uuid4()
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=control_number,
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=sum(charge for _, charge in lines),
        lines=[
            {
                "line_number": number,
                "line_control_number": f"{control_number}-{number}",
                "procedure_code": procedure,
                "modifiers": [],
                "units": 1,
                "charge_cents": charge,
            }
            for number, (procedure, charge) in enumerate(lines, start=1)
        ],
        interchange_control_number="000000901",
        submitted_at=dt.datetime.now(dt.UTC),
        patient_id=uuid.uuid4(),
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def test_mutated_835_uploads_never_answer_5xx_and_posted_ones_balance(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    engine = create_engine(services.role_url("remittance"), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await on_claim_submitted(session, [_claim_submitted(tenant, ccn, ls) for ccn, ls in FUZZ_CLAIMS.items()])
    finally:
        await engine.dispose()
    remittance = await services.start("remittance")
    write = services.auth(tenant, "remittance:write", "remittance:read")
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        for mutant in mutants(seed=835, count=MUTANTS):
            answer = await client.post("/v1/remittances", content=mutant, headers=X12)
            statuses[answer.status_code] += 1
            assert answer.status_code in (200, 201, 422), (answer.status_code, answer.text[:500])
            body = answer.json()
            if answer.status_code == 422:
                assert body["reason"], body
            else:
                assert body["posted"] + body["suspended"] + body["duplicates"] == body["claim_payments"], body
        assert (await client.get("/healthz")).status_code == 200
    assert statuses[201] and statuses[422], statuses
    # Each posted payment balanced to the cent: its claim entries take off exactly the charge it covers.
    off_by = await admin_db.fetch(
        "SELECT p.id, p.charge_cents, coalesce(-sum(e.amount_cents), 0) AS taken FROM remittance.claim_payments p "
        "LEFT JOIN remittance.ledger_entries e ON e.claim_payment_id = p.id AND e.account_type = 'claim' "
        "WHERE p.tenant_id = $1 AND p.state = 'posted' AND p.reversal_of IS NULL "
        "GROUP BY p.id, p.charge_cents HAVING coalesce(-sum(e.amount_cents), 0) <> p.charge_cents",
        tenant,
    )
    assert off_by == []
    posted = await admin_db.fetchval(
        "SELECT count(*) FROM remittance.claim_payments WHERE tenant_id = $1 AND state = 'posted'", tenant
    )
    assert posted, "some mutants reached our claims"
