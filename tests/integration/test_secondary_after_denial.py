"""With the real claims process, Kafka and Postgres: a claim to the primary names the known secondary in
its 2320 loop; the primary's partial denial (one line paid, one denied with 0 paid units) builds the
secondary claim, which is sent with SVD05 0 on the denied line, not held, and pyx12 accepts it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.events.catalog import Adjustment, PaidLine, PaymentReceivedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import PAYMENT_RECEIVED
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.encounters import example, produce_all
from tests.support.pipeline import Pipeline, eventually, new_tenant, produce
from tests.support.sealed import x12_of_claim

pytestmark = pytest.mark.integration


async def claims_of(admin_db: asyncpg.Connection, tenant: str) -> list[Any]:
    return list(
        await admin_db.fetch(
            "SELECT id, state, claim_control_number, primary_claim_id, total_charge_cents, findings "
            "FROM claims.claims WHERE tenant_id = $1",
            tenant,
        )
    )


async def test_a_primary_partial_denial_sends_the_secondary_with_zero_paid_units(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    claims = await services.start(
        "claims",
        CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S="0.2",
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(tmp_path / "clearinghouse"),
    )
    bootstrap = services.kafka_bootstrap_servers
    tenant = new_tenant()
    primary = example("primary-with-secondary")
    visit = primary.lines[0]
    urinalysis = visit.model_copy(update={"line_number": 2, "procedure_code": "81002", "charge_cents": 2000})
    primary = primary.model_copy(update={"lines": [visit, urinalysis]})
    async with httpx.AsyncClient(base_url=claims.base_url, headers=services.auth(tenant, "claims:write")) as client:
        response = await client.put("/v1/scrub-rules/timely_filing.expired", json={"enabled": False})
        assert response.status_code == 200, response.text
    await produce_all(bootstrap, tenant, [primary])

    async def sent() -> Any:
        rows = await claims_of(admin_db, tenant)
        return rows[0] if len(rows) == 1 and rows[0]["state"] == "submitted" else None

    first = await eventually(sent, what="the claim to the primary sent")
    first_x12 = await x12_of_claim(admin_db, services, first["id"])
    assert "SBR*P*18*" in first_x12 and "SBR*S*18*******CI~OI***Y***Y~" in first_x12  # the secondary, known
    assert "AMT*D*" not in first_x12 and "SVD*" not in first_x12
    assert list(validate_with_pyx12(first_x12)) == []

    denial = PaymentReceivedV1(
        payment_id=uuid.uuid4(), claim_id=first["id"], claim_control_number=first["claim_control_number"],
        payer_id="SANDBOX", trace_number="EFT-DENY-1", claim_status_code="1", charge_cents=17000, paid_cents=9000,
        patient_responsibility_cents=2000,
        adjustments=[
            Adjustment(group="CO", carc="45", amount_cents=4000, line_number=1),
            Adjustment(group="PR", carc="2", amount_cents=2000, line_number=1),
            Adjustment(group="CO", carc="50", amount_cents=2000, line_number=2),
        ],
        lines=[
            PaidLine(line_number=1, procedure_code="99214", charge_cents=15000, paid_cents=9000),
            PaidLine(line_number=2, procedure_code="81002", charge_cents=2000, paid_cents=0),
        ],
        next_responsible="secondary_payer", paid_date=primary.service_date_to, payer_claim_control_number="SBX-D-1",
    )  # fmt: skip
    envelope = EventEnvelope.new(source="/tests/remittance", subject=str(first["id"]), tenant=tenant, payload=denial)
    key, value, headers = to_kafka(envelope)
    await produce(bootstrap, PAYMENT_RECEIVED.name, key=key, value=value, headers=headers)

    async def secondary_settled() -> Any:
        rows = [r for r in await claims_of(admin_db, tenant) if r["primary_claim_id"] is not None]
        return rows[0] if rows and rows[0]["state"] not in ("received", "scrubbed", "ready", "batched") else None

    secondary = await eventually(secondary_settled, what="the secondary claim built and sent (or held)")
    assert secondary["state"] == "submitted", secondary["findings"]
    assert secondary["primary_claim_id"] == first["id"]
    x12 = await x12_of_claim(admin_db, services, secondary["id"])
    assert "SBR*S*18*" in x12 and "AMT*D*90~" in x12 and "REF*F8*SBX-D-1~" in x12
    assert "SVD*SANDBOX*90*HC:99214**1~" in x12
    assert "SVD*SANDBOX*0*HC:81002**0~CAS*CO*50*20~" in x12
    assert list(validate_with_pyx12(x12)) == []
