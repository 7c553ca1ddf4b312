"""Codes explained beside the raw codes, through the real services (issue 14 item 5): intake's code-set
look-up answers by date of service, remittance ledgers and suspense describe CARCs, groups and claim
statuses, denial cases describe their CARCs and RARCs even when no publisher list was loaded."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import httpx
import pytest

from shared.events.catalog import ClaimDeniedV1, ClaimSubmittedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_DENIED, CLAIM_SUBMITTED
from tests.support.pipeline import Pipeline, eventually, new_tenant, produce
from tests.support.remittance_builder import ClaimSpec, LineSpec, paid_claim, remittance_file

pytestmark = pytest.mark.integration


async def _send(services: Pipeline, topic: str, envelope: EventEnvelope) -> None:
    key, value, headers = to_kafka(envelope)
    await produce(services.kafka_bootstrap_servers, topic, key=key, value=value, headers=headers)


async def test_intake_looks_codes_up_by_date_of_service(services: Pipeline) -> None:
    intake = await services.start("intake")
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=services.auth(tenant, "encounters:read")) as client:
        office = (await client.get("/v1/code-sets/place_of_service/11")).json()
        assert (office["description"], office["billable"], office["problem"]) == ("Office", True, None)
        category = (await client.get("/v1/code-sets/icd10cm/J06", params={"service_date": "2026-05-01"})).json()
        assert category["billable"] is False and "not billable" in category["problem"]
        assert category["release"] == "FY2026 April update"
        maaa = (await client.get("/v1/code-sets/procedure/0001M")).json()
        unassigned = (await client.get("/v1/code-sets/procedure/W1234")).json()
        assert (maaa["billable"], unassigned["billable"]) == (True, False)
        rejection = (await client.get("/v1/code-sets/claim_status_category/A7:164:IL")).json()
        assert rejection["billable"] is None
        assert rejection["description"].startswith("Acknowledgement/rejected for invalid information")
        assert (await client.get("/v1/code-sets/carc/197")).json()["description"].startswith("Precertification")
        assert (await client.get("/v1/code-sets/nonsense/1")).status_code == 422
        unauthorized = await client.get("/v1/code-sets/carc/197", headers={"Authorization": ""})
        assert unauthorized.status_code == 401


async def test_remittance_ledgers_and_suspense_describe_their_codes(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, suffix = new_tenant(), uuid.uuid4().hex[:6].upper()
    denied = ClaimSpec(f"DESC{suffix}", (LineSpec("99214", 20000, 0, (("CO", "197", 20000),), f"DESC{suffix}-1"),))
    claim_id = uuid.uuid4()
    submitted = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=denied.control_number,
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=denied.charge_cents,
        lines=[
            {"line_number": 1, "line_control_number": f"DESC{suffix}-1", "procedure_code": "99214", "units": 1,
             "charge_cents": 20000}
        ],
        interchange_control_number="000000001",
        submitted_at=dt.datetime.now(dt.UTC),
        patient_id=uuid.uuid4(),
    )  # fmt: skip
    remittance = await services.start("remittance")
    envelope = EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=submitted)
    await _send(services, CLAIM_SUBMITTED.name, envelope)

    async def known() -> bool:
        query = "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1"
        return int(await admin_db.fetchval(query, tenant)) == 1

    await eventually(known, what="remittance to record the submitted claim")
    headers = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=headers, timeout=60) as client:
        file = remittance_file([denied, paid_claim(f"NOSUCH{suffix}")], trace=f"D{suffix}")
        posted = await client.post("/v1/remittances", content=file, headers={"content-type": "application/edi-x12"})
        assert posted.status_code == 201, posted.text
        ledger = (await client.get(f"/v1/claims/{claim_id}/ledger")).json()
        adjustment = next(entry for entry in ledger["entries"] if entry["carc"] == "197")
        assert adjustment["group_code"] == "CO" and adjustment["group_code_description"] == "Contractual obligation"
        assert adjustment["carc_description"] == "Precertification/authorization/notification/pre-treatment absent"
        (suspended,) = (await client.get("/v1/suspense")).json()
        assert (suspended["status_code"], suspended["status_description"]) == ("1", "Processed as primary")


async def test_denial_cases_describe_their_carcs_and_rarcs(services: Pipeline) -> None:
    tenant, suffix = new_tenant(), uuid.uuid4().hex[:6].upper()
    denials = await services.start("denials")
    denial = ClaimDeniedV1(
        claim_control_number=f"DEN{suffix}",
        payer_id="SANDBOX",
        trace_number=f"T{suffix}",
        denial="full",
        denied_cents=20000,
        carcs=["197"],
        rarcs=["M62"],
    )
    await _send(
        services,
        CLAIM_DENIED.name,
        EventEnvelope.new(source="/tests", subject=f"DEN{suffix}", tenant=tenant, payload=denial),
    )
    async with httpx.AsyncClient(base_url=denials.base_url, headers=services.auth(tenant, "denials:read")) as client:

        async def cases() -> list[dict[str, object]]:
            return list((await client.get("/v1/denial-cases")).json())

        (case,) = await eventually(cases, what="the denial case")
        assert (case["carc"], case["carcs"], case["rarcs"]) == ("197", ["197"], ["M62"]), "raw keys stay"
        assert case["carc_description"] and case["group_code_description"]
        assert [d["code"] for d in case["carc_descriptions"]] == ["197"]
        assert case["rarc_descriptions"][0]["description"]
        detail = (await client.get(f"/v1/denial-cases/{case['id']}")).json()
        assert {"CARC 197", "RARC M62"} <= detail["code_descriptions"].keys()
