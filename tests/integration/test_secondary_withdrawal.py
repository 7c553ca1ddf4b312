"""A primary's payment reversed withdraws the secondary claim built from it, through the real claims process,
Kafka and Postgres: cancelled while it is unsent, voided (frequency 8, REF*F8) once the secondary payer has it,
and that void answered by the sandbox payer with the reversal of the secondary's payment."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sandbox.clearinghouse import FolderClearinghouse
from services.remittance.domain.posting import read_claim_payments
from services.remittance.domain.x12_835 import parse_835
from shared.events.catalog import Adjustment, EncounterCodedV1, PaidLine, PaymentReceivedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import CLAIM_STATUS, PAYMENT_RECEIVED
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.encounters import billed_to_primary, example, produce_all
from tests.support.file_drop import start_claims_on_file_drop
from tests.support.pipeline import Pipeline, end_offsets, eventually, new_tenant, produce, read_from
from tests.support.sealed import x12_of_claim

pytestmark = pytest.mark.integration


async def _claims(admin_db: asyncpg.Connection, tenant: str) -> list[asyncpg.Record]:
    rows = await admin_db.fetch(
        "SELECT id, state, claim_control_number, primary_claim_id, frequency_code, withdrawn_at, payer_claim_number, "
        "total_charge_cents FROM claims.claims WHERE tenant_id = $1 ORDER BY created_at, id",
        tenant,
    )
    return list(rows)


async def _send(bootstrap: KafkaAccess, tenant: str, payment: PaymentReceivedV1) -> None:
    envelope = EventEnvelope.new(
        source="/tests/remittance", subject=str(payment.claim_id), tenant=tenant, payload=payment
    )
    key, value, headers = to_kafka(envelope)
    await produce(bootstrap, PAYMENT_RECEIVED.name, key=key, value=value, headers=headers)


def _payment(primary: asyncpg.Record, encounter: EncounterCodedV1, *, payer_claim_number: str) -> PaymentReceivedV1:
    """The primary's payment, leaving coinsurance for the secondary payer."""
    charge = primary["total_charge_cents"]
    return PaymentReceivedV1(
        payment_id=uuid.uuid4(), claim_id=primary["id"], claim_control_number=primary["claim_control_number"],
        payer_id="SANDBOX", trace_number=f"EFT-{uuid.uuid4().hex[:8]}", claim_status_code="1", charge_cents=charge,
        paid_cents=9000, patient_responsibility_cents=2000,
        adjustments=[
            Adjustment(group="CO", carc="45", amount_cents=charge - 11000, line_number=1),
            Adjustment(group="PR", carc="2", amount_cents=2000, line_number=1),
        ],
        lines=[PaidLine(line_number=1, procedure_code="99214", charge_cents=charge, paid_cents=9000)],
        next_responsible="patient", paid_date=encounter.service_date_to, payer_claim_control_number=payer_claim_number,
    )  # fmt: skip


def _reversal(payment: PaymentReceivedV1) -> PaymentReceivedV1:
    """What remittance publishes for CLP02 22: every amount negated, `reversal_of` the payment taken back."""
    return payment.model_copy(
        update={
            "payment_id": uuid.uuid4(),
            "claim_status_code": "22",
            "charge_cents": -payment.charge_cents,
            "paid_cents": -payment.paid_cents,
            "patient_responsibility_cents": -payment.patient_responsibility_cents,
            "adjustments": [a.model_copy(update={"amount_cents": -a.amount_cents}) for a in payment.adjustments],
            "lines": [],
            "next_responsible": "none",
            "reversal_of": payment.payment_id,
        }
    )


async def _one_primary(admin_db: asyncpg.Connection, tenant: str, *states: str) -> Any:
    async def found() -> Any:
        rows = [r for r in await _claims(admin_db, tenant) if r["primary_claim_id"] is None]
        return rows[0] if len(rows) == 1 and rows[0]["state"] in states else None

    return await eventually(found, what=f"the primary claim in {states}")


async def test_an_unsent_secondary_is_cancelled_and_a_repayment_builds_a_new_one(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    await services.start("claims", CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S="3600")  # nothing leaves after the first round
    bootstrap, tenant = services.kafka_bootstrap_servers, new_tenant()
    status_start = await end_offsets(bootstrap, CLAIM_STATUS.name)
    encounter = billed_to_primary(example("secondary"))
    await produce_all(bootstrap, tenant, [encounter])
    primary = await _one_primary(admin_db, tenant, "ready", "on_hold", "batched")
    paid = _payment(primary, encounter, payer_claim_number="SBX-W-1")
    await _send(bootstrap, tenant, paid)

    async def secondaries(count: int) -> Any:
        rows = [r for r in await _claims(admin_db, tenant) if r["primary_claim_id"] is not None]
        return rows if len(rows) == count else None

    (secondary,) = await eventually(lambda: secondaries(1), what="the secondary claim built")
    assert secondary["state"] in ("ready", "on_hold") and secondary["withdrawn_at"] is None

    await _send(bootstrap, tenant, _reversal(paid))

    async def cancelled() -> Any:
        rows = {r["id"]: r for r in await _claims(admin_db, tenant)}
        return rows[secondary["id"]]["state"] == "cancelled" and rows[secondary["id"]]["withdrawn_at"] is not None

    await eventually(cancelled, what="the unsent secondary cancelled")
    history = await admin_db.fetch(
        "SELECT from_state, to_state, reason FROM claims.claim_status_history WHERE claim_id = $1 ORDER BY id",
        secondary["id"],
    )
    assert (history[-1]["from_state"], history[-1]["to_state"]) == (secondary["state"], "cancelled")
    assert "payment reversed" in history[-1]["reason"]
    assert len(await _claims(admin_db, tenant)) == 2, "no void for a claim no payer has"
    primary_notes = await admin_db.fetch(
        "SELECT reason FROM claims.claim_status_history WHERE claim_id = $1 ORDER BY id", primary["id"]
    )
    assert f"secondary claim {secondary['claim_control_number']} cancelled" in primary_notes[-1]["reason"]

    await _send(bootstrap, tenant, _payment(primary, encounter, payer_claim_number="SBX-W-2"))  # paid again
    first, second = await eventually(lambda: secondaries(2), what="a new secondary for the re-payment")
    assert (first["id"], first["state"]) == (secondary["id"], "cancelled")
    assert second["withdrawn_at"] is None and second["state"] in ("ready", "on_hold")

    changes = [
        r.value for r in await read_from(bootstrap, status_start) if dict(r.headers).get("ce_tenant") == tenant.encode()
    ]
    assert any(b'"to_state":"cancelled"' in value.replace(b" ", b"") for value in changes)


async def test_a_sent_secondary_is_voided_and_the_sandbox_payer_reverses_it(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "clearinghouse"
    claims = await start_claims_on_file_drop(services, folder, CLAIMFLOW_CLAIMS_ACKNOWLEDGMENT_INTERVAL_S="0.2")
    bootstrap, tenant = services.kafka_bootstrap_servers, new_tenant()
    async with httpx.AsyncClient(base_url=claims.base_url, headers=services.auth(tenant, "claims:write")) as client:
        # the example's visit is older than the secondary payer's filing window: not what this test is about
        assert (await client.put("/v1/scrub-rules/timely_filing.expired", json={"enabled": False})).is_success
    encounter = billed_to_primary(example("secondary"))
    await produce_all(bootstrap, tenant, [encounter])
    await _one_primary(admin_db, tenant, "submitted")
    FolderClearinghouse(folder).process_once()
    primary = await _one_primary(admin_db, tenant, "accepted")
    paid = _payment(primary, encounter, payer_claim_number=primary["payer_claim_number"])
    await _send(bootstrap, tenant, paid)

    async def secondary_in(*states: str) -> Any:
        rows = [r for r in await _claims(admin_db, tenant) if r["primary_claim_id"] is not None]
        return rows[0] if len(rows) == 1 and rows[0]["state"] in states else None

    await eventually(lambda: secondary_in("submitted"), what="the secondary claim built and sent")
    FolderClearinghouse(folder).process_once()  # the secondary payer accepts it (a payer claim number) and pays
    secondary = await eventually(lambda: secondary_in("accepted"), what="the secondary accepted")
    assert secondary["payer_claim_number"]

    await _send(bootstrap, tenant, _reversal(paid))

    async def void_sent() -> Any:
        rows = [r for r in await _claims(admin_db, tenant) if r["frequency_code"] == "8"]
        return rows[0] if len(rows) == 1 and rows[0]["state"] == "submitted" else None

    void = await eventually(void_sent, what="the void of the secondary built and sent")
    rows = {r["id"]: r for r in await _claims(admin_db, tenant)}
    assert rows[secondary["id"]]["withdrawn_at"] is not None and rows[secondary["id"]]["state"] == "accepted"
    x12 = await x12_of_claim(admin_db, services, void["id"])
    assert f"REF*F8*{secondary['payer_claim_number']}~" in x12 and "SBR*S*" in x12 and ":B:8*" in x12
    assert list(validate_with_pyx12(x12)) == []

    written = FolderClearinghouse(folder).process_once()
    (answer_835,) = [name for name in written if name.endswith(".835")]
    facts = read_claim_payments(
        parse_835((folder / "inbound" / answer_835).read_bytes()), today=encounter.service_date_to
    )
    assert [(f.key.claim_control_number, f.key.status_code, f.payer_claim_control_number) for f in facts] == [
        (secondary["claim_control_number"], "22", secondary["payer_claim_number"])
    ]
    assert facts[0].paid_cents < 0
