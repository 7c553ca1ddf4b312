"""Remittance's `claim-submitted` consumer applies a whole batch set-based: the claims, their patients'
accounts and their charges each in one statement, with what one-by-one recording guaranteed (a
resubmission keeps the latest submission, a patient's account its first currency, a charge posted once)."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from services.remittance.handlers import on_claim_submitted
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from tests.support.pipeline import Pipeline, new_tenant

pytestmark = pytest.mark.integration
SUBMITTED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _submitted(
    tenant: str, claim_id: uuid.UUID, number: str, patient: uuid.UUID, *, at: dt.datetime, currency: str = "USD"
) -> EventEnvelope:
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=number,
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=12500,
        currency=currency,
        lines=[
            {
                "line_number": 1,
                "line_control_number": f"{number}-1",
                "procedure_code": "99213",
                "units": 1,
                "charge_cents": 12500,
            }
        ],
        interchange_control_number="000000911",
        submitted_at=at,
        patient_id=patient,
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def _consume(pipeline: Pipeline, envelopes: list[EventEnvelope]) -> None:
    engine = create_engine(pipeline.role_url("remittance"), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await on_claim_submitted(session, envelopes)
    finally:
        await engine.dispose()


async def test_a_batch_with_a_resubmission_records_each_claim_once(
    pipeline: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, other_tenant, patient = new_tenant(), new_tenant(), uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    later = SUBMITTED + dt.timedelta(hours=1)
    await _consume(
        pipeline,
        [
            _submitted(tenant, first, "CFBATCH0001", patient, at=SUBMITTED),
            _submitted(tenant, second, "CFBATCH0002", patient, at=SUBMITTED, currency="CAD"),
            _submitted(other_tenant, uuid.uuid4(), "CFBATCH0001", uuid.uuid4(), at=SUBMITTED),
            _submitted(tenant, first, "CFBATCH0001", patient, at=later),  # resubmitted in the same batch
        ],
    )
    await _consume(pipeline, [_submitted(tenant, second, "CFBATCH0002", patient, at=later)])  # and in a later one

    claims = await admin_db.fetch(
        "SELECT claim_id, submitted_at, lines FROM remittance.submitted_claims WHERE tenant_id = $1 ORDER BY 2, 1",
        tenant,
    )
    assert {(row["claim_id"], row["submitted_at"]) for row in claims} == {(first, later), (second, later)}
    assert all('"procedure_code": "99213"' in row["lines"] for row in claims)
    charges = await admin_db.fetch(
        "SELECT account_id, amount_cents, currency, posted_on FROM remittance.ledger_entries "
        "WHERE tenant_id = $1 AND kind = 'charge' ORDER BY account_id",
        tenant,
    )
    assert sorted((row["account_id"], row["amount_cents"], row["currency"]) for row in charges) == sorted(
        [(str(first), 12500, "USD"), (str(second), 12500, "CAD")]
    )
    assert {row["posted_on"] for row in charges} == {SUBMITTED.date()}
    accounts = await admin_db.fetch(
        "SELECT patient_id, currency FROM remittance.patient_accounts WHERE tenant_id = $1", tenant
    )
    assert [(row["patient_id"], row["currency"]) for row in accounts] == [(patient, "USD")]
    assert (
        await admin_db.fetchval("SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1", other_tenant)
        == 1
    )
