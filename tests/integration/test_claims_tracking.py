"""After submission, with the real claims process, Kafka and Postgres and the sandbox clearinghouse on a
file-drop folder: 999/277CA move claims to accepted or rejected (read once, however often the file
comes), a rejected claim is fixed and goes out again as resubmitted, payments (as remittance emits
them, redelivered too) mark claims paid / partially paid once, the primary's payment builds exactly
one secondary claim whose 837 pyx12 accepts, and a quiet claim is followed up with a 276."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sandbox.clearinghouse import FolderClearinghouse
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


def with_member_id(event: EncounterCodedV1, member_id: str) -> EncounterCodedV1:
    assert event.phi is not None and event.coverage is not None
    subscribers = [
        s.model_copy(update={"member_id": member_id}) if s.coverage_id == event.coverage.coverage_id else s
        for s in event.phi.subscribers
    ]
    return event.model_copy(update={"phi": event.phi.model_copy(update={"subscribers": subscribers})})


async def claim_rows(admin_db: asyncpg.Connection, tenant: str) -> dict[str, Any]:
    rows = await admin_db.fetch(
        "SELECT id, encounter_id, state, claim_control_number, primary_claim_id, total_charge_cents "
        "FROM claims.claims WHERE tenant_id = $1",
        tenant,
    )
    return {str(row["id"]): row for row in rows}


async def send_payment(bootstrap: KafkaAccess, tenant: str, payment: PaymentReceivedV1, times: int = 1) -> None:
    envelope = EventEnvelope.new(
        source="/tests/remittance", subject=str(payment.claim_id), tenant=tenant, payload=payment
    )
    key, value, headers = to_kafka(envelope)
    for _ in range(times):  # the same event delivered again: the inbox skips it
        await produce(bootstrap, PAYMENT_RECEIVED.name, key=key, value=value, headers=headers)


async def test_acknowledgments_rejections_resubmission_payments_secondary_and_follow_up(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "clearinghouse"
    claims = await start_claims_on_file_drop(
        services,
        folder,
        CLAIMFLOW_CLAIMS_ACKNOWLEDGMENT_INTERVAL_S="0.2",
        CLAIMFLOW_CLAIMS_FOLLOW_UP_AFTER_S="8",
        CLAIMFLOW_CLAIMS_FOLLOW_UP_INTERVAL_S="0.5",
    )
    bootstrap = services.kafka
    tenant = new_tenant()
    status_start = await end_offsets(bootstrap, CLAIM_STATUS.name)
    accepted = example("professional")
    rejected = with_member_id(example("professional"), "AB12")  # the sandbox wants 6-20 letters and digits
    primary = billed_to_primary(example("secondary"))
    by_encounter = {str(e.encounter_id): name for e, name in ((accepted, "A"), (rejected, "R"), (primary, "P"))}
    async with httpx.AsyncClient(
        base_url=claims.base_url, headers=services.auth(tenant, "claims:read", "claims:write")
    ) as client:
        assert (await client.put("/v1/scrub-rules/timely_filing.expired", json={"enabled": False})).status_code == 200
        await produce_all(bootstrap, tenant, [accepted, rejected, primary])

        async def states() -> dict[str, str]:
            rows = (await claim_rows(admin_db, tenant)).values()
            return {by_encounter[str(r["encounter_id"])]: r["state"] for r in rows if r["primary_claim_id"] is None}

        async def in_states(wanted: dict[str, str]) -> bool:
            return await states() == wanted

        await eventually(lambda: in_states({"A": "submitted", "R": "submitted", "P": "submitted"}), what="3 sent")
        FolderClearinghouse(folder).process_once()
        await eventually(lambda: in_states({"A": "accepted", "R": "rejected", "P": "accepted"}), what="277CA applied")

        rows = {by_encounter[str(r["encounter_id"])]: r for r in (await claim_rows(admin_db, tenant)).values()}
        assert len(rows) == 3
        queue = (await client.get("/v1/rejections")).json()
        assert [q["id"] for q in queue] == [str(rows["R"]["id"])]
        assert {
            "source": "277CA",
            "code": "A7:164:IL",
            "description": "Acknowledgement/rejected for invalid information: "
            "Entity's contract/member number (insured or subscriber)",
        } in queue[0]["rejection_reasons"]
        files = await admin_db.fetch(
            "SELECT kind, claims_changed FROM claims.acknowledgment_files WHERE tenant_id = $1", tenant
        )
        assert {f["kind"] for f in files} == {"277CA", "999"} and sum(f["claims_changed"] for f in files) == 3

        # The same 277CA delivered again under another name is recognised and changes nothing.
        archived = next(p for p in folder.rglob("*.277CA") if "inbound" not in p.parts)
        history_before = await admin_db.fetchval(
            "SELECT count(*) FROM claims.claim_status_history WHERE tenant_id = $1", tenant
        )
        shutil.copy(archived, folder / "inbound" / "again.277CA")

        async def re_read() -> bool:
            return not (folder / "inbound" / "again.277CA").exists()

        await eventually(re_read, what="the repeated 277CA taken and archived")
        assert (
            await admin_db.fetchval("SELECT count(*) FROM claims.claim_status_history WHERE tenant_id = $1", tenant)
            == history_before
        )

        # Fixed and released, the rejected claim goes out again and is accepted.
        rejected_id = str(rows["R"]["id"])
        response = await client.post(f"/v1/claims/{rejected_id}/fixes", json={"subscriber_member_id": "SYN000000777"})
        assert response.status_code == 200 and response.json()["state"] == "on_hold", response.text
        assert "SYN000000777" not in response.text
        response = await client.post(f"/v1/claims/{rejected_id}/release")
        assert response.json()["state"] == "ready", response.text
        await eventually(lambda: in_states({"A": "accepted", "R": "resubmitted", "P": "accepted"}), what="resubmitted")
        FolderClearinghouse(folder).process_once()
        await eventually(lambda: in_states({"A": "accepted", "R": "accepted", "P": "accepted"}), what="re-accepted")
        walk = [
            (c["from_state"], c["to_state"])
            for c in (await client.get(f"/v1/claims/{rejected_id}")).json()["status_history"]
        ]
        assert walk[5:] == [
            ("submitted", "rejected"),
            ("rejected", "on_hold"),
            ("on_hold", "on_hold"),
            ("on_hold", "scrubbed"),
            ("scrubbed", "ready"),
            ("ready", "batched"),
            ("batched", "resubmitted"),
            ("resubmitted", "accepted"),
        ]

        # Payments as remittance emits them; each sent twice (the inbox skips the copy), one also as a
        # new event with the same payment id (the UNIQUE payment id skips it).
        charge = rows["A"]["total_charge_cents"]
        paid_in_full = PaymentReceivedV1(
            payment_id=uuid.uuid4(), claim_id=rows["A"]["id"], claim_control_number=rows["A"]["claim_control_number"],
            payer_id="SANDBOX", trace_number="EFT-T1", claim_status_code="1", charge_cents=charge,
            paid_cents=charge * 8 // 10, patient_responsibility_cents=0,
            adjustments=[Adjustment(group="CO", carc="45", amount_cents=charge - charge * 8 // 10)],
            next_responsible="none", paid_date=example("professional").service_date_to,
        )  # fmt: skip
        p_charge = rows["P"]["total_charge_cents"]
        with_coinsurance = PaymentReceivedV1(
            payment_id=uuid.uuid4(), claim_id=rows["P"]["id"], claim_control_number=rows["P"]["claim_control_number"],
            payer_id="SANDBOX", trace_number="EFT-T1", claim_status_code="1", charge_cents=p_charge,
            paid_cents=9000, patient_responsibility_cents=2000,
            adjustments=[
                Adjustment(group="CO", carc="45", amount_cents=p_charge - 11000, line_number=1),
                Adjustment(group="PR", carc="2", amount_cents=2000, line_number=1),
            ],
            lines=[PaidLine(line_number=1, procedure_code="99214", charge_cents=p_charge, paid_cents=9000)],
            next_responsible="patient", paid_date=primary.service_date_to, payer_claim_control_number="SBX-T-1",
        )  # fmt: skip
        await send_payment(bootstrap, tenant, paid_in_full, times=2)
        await send_payment(bootstrap, tenant, with_coinsurance, times=2)
        await send_payment(bootstrap, tenant, with_coinsurance)

        async def secondary_sent() -> Any:
            found = [r for r in (await claim_rows(admin_db, tenant)).values() if r["primary_claim_id"] is not None]
            return found if found and found[0]["state"] == "submitted" else None

        (secondary,) = await eventually(secondary_sent, what="the secondary claim built and sent")
        assert secondary["primary_claim_id"] == rows["P"]["id"]
        await eventually(lambda: in_states({"A": "paid", "R": "accepted", "P": "partially_paid"}), what="payments")
        assert await admin_db.fetchval("SELECT count(*) FROM claims.claim_payments WHERE tenant_id = $1", tenant) == 2
        x12 = await x12_of_claim(admin_db, services, secondary["id"])
        assert "SBR*S*" in x12 and "AMT*D*90~" in x12 and "AMT*EAF*20~" in x12 and "REF*F8*SBX-T-1~" in x12
        assert list(validate_with_pyx12(x12)) == []
        detail = (await client.get(f"/v1/claims/{rows['P']['id']}")).json()
        assert detail["secondary_claim_id"] == str(secondary["id"]) and detail["payer_claim_number"] == "SBX-T-1"

        # The resubmitted claim, accepted and then quiet past the follow-up age, is asked about in a 276.
        async def followed_up() -> Any:
            return [
                f for f in (await client.get("/v1/follow-ups")).json() if f["claim_id"] == rejected_id and f["sent_at"]
            ]

        (follow_up,) = await eventually(followed_up, timeout_s=40, what="a follow-up of the quiet claim")
        assert follow_up["state_when_flagged"] == "accepted" and follow_up["answered_at"] is None
        requests = [p.read_text() for p in folder.rglob("276-*.x12")]
        assert any(
            f"TRN*1*{follow_up['trace_number']}~" in r and f"REF*EJ*{rows['R']['claim_control_number']}~" in r
            for r in requests
        )

    async def status_events() -> Any:
        seen: dict[str, list[tuple[str, str]]] = {}
        for record in await read_from(bootstrap, status_start):
            if dict(record.headers).get("ce_tenant") == tenant.encode():
                event = json.loads(record.value)
                assert record.key.decode() == event["claim_id"]
                seen.setdefault(event["claim_id"], []).append((event["from_state"], event["to_state"]))
        return seen if len(seen.get(str(rows["A"]["id"]), [])) == 2 else None

    seen = await eventually(status_events, what="claim-status-changed events")
    assert seen[str(rows["A"]["id"])] == [("submitted", "accepted"), ("accepted", "paid")]
    assert seen[str(rows["P"]["id"])] == [("submitted", "accepted"), ("accepted", "partially_paid")]
    assert seen[rejected_id] == [("submitted", "rejected"), ("resubmitted", "accepted")]
