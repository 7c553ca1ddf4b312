"""The records people correct, cancel, find and re-send, against real intake and claims processes, Kafka
and Postgres (issue 14, items 1 to 4):

- a patient corrected with PATCH (merge patch, ETag/If-Match, history) mends the claims held because of
  it, which are scrubbed again and go out in an 837 that carries the correction; a member id fixed on a
  claim flows back to the coverage; a billing provider's 5-digit ZIP is refused where the 837 would be;
- two held claims of the same service do not hold each other; a claim no payer has seen is cancelled
  with a reason (and its encounter with it); a submitted one cannot be;
- claims, patients and encounters are found by their filters, page by page with a cursor, and link to
  one another by id;
- a re-send under a known external id or NPI with other content is a 409 naming the fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cli.services import ServiceProcess
from tests.support.intake_builders import registered_encounter as encounter
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.remittance_builder import ClaimSpec, LineSpec, remittance_file

pytestmark = pytest.mark.integration
SCOPES = (
    "patients:write", "patients:read", "providers:write", "providers:read", "payers:write", "payers:read",
    "encounters:write", "encounters:read", "claims:read", "claims:write", "remittance:read", "remittance:write",
)  # fmt: skip
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
ZIP_PLUS_4 = ADDRESS | {"postal_code": "627010001"}
X12 = {"content-type": "application/edi-x12"}
SERVICE_DAY = dt.date.today() - dt.timedelta(days=3)
BORN_LATER = (dt.date.today() - dt.timedelta(days=1)).isoformat()
"""A birth date after the date of service: the scrubber holds the claim (date.before_birth)."""


@pytest.fixture(scope="module")
async def running(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    """Intake and claims for the module (starting them costs seconds); claims drops its 837s in a folder."""
    folder = tmp_path_factory.mktemp("clearinghouse")
    for sub in ("outbound", "inbound"):
        (folder / sub).mkdir()
    intake = await pipeline.start("intake")
    claims = await pipeline.start(
        "claims",
        CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S="0.2",
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
    )
    remittance = await pipeline.start("remittance")
    yield Running(pipeline, intake, claims, remittance, folder)
    for process in (intake, claims, remittance):
        process.kill()
        pipeline.started.remove(process)


class Running:
    def __init__(
        self,
        pipeline: Pipeline,
        intake: ServiceProcess,
        claims: ServiceProcess,
        remittance: ServiceProcess,
        folder: Path,
    ) -> None:
        self.pipeline, self.intake, self.claims, self.remittance = pipeline, intake, claims, remittance
        self.folder = folder

    def clients(self, tenant: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        headers = self.pipeline.auth(tenant, *SCOPES)
        return (
            httpx.AsyncClient(base_url=self.intake.base_url, headers=headers, timeout=30),
            httpx.AsyncClient(base_url=self.claims.base_url, headers=headers, timeout=30),
        )

    def sent_837s(self) -> str:
        return "".join(path.read_text() for path in sorted((self.folder / "outbound").glob("837-*.x12")))


async def register(intake: httpx.AsyncClient, mrn: str, birth_date: str = "1980-01-01") -> tuple[str, str]:
    """A payer, a billing organization, a rendering clinician, a patient and a primary coverage: the
    patient's and the coverage's ids."""
    payer = {"payer_id": "SANDBOX", "name": "SANDBOX HEALTH PLAN", "claim_filing_indicator": "CI",
             "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
    billing = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
               "tax_id_type": "EIN", "address": ZIP_PLUS_4, "taxonomy": "207Q00000X"}  # fmt: skip
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    for path, body in (("/v1/payers", payer), ("/v1/providers", billing), ("/v1/providers", rendering)):
        response = await intake.post(path, json=body)
        assert response.status_code in (200, 201), response.text
    patient = {"external_patient_id": mrn, "last_name": "DOE", "first_name": "JANE", "birth_date": birth_date,
               "sex": "F", "address": ADDRESS}  # fmt: skip
    created = await intake.post("/v1/patients", json=patient)
    assert created.status_code == 201, created.text
    patient_id = str(created.json()["id"])
    coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": f"SYN-{mrn}", "group_number": "G1"}
    covered = await intake.post(f"/v1/patients/{patient_id}/coverages", json=coverage)
    assert covered.status_code == 201, covered.text
    return patient_id, str(covered.json()["id"])


async def claim_of(claims: httpx.AsyncClient, encounter_id: str, *states: str) -> dict[str, Any]:
    async def built() -> dict[str, Any] | None:
        page = (await claims.get("/v1/claims", params={"encounter_id": encounter_id})).json()
        found = [claim for claim in page["items"] if not states or claim["state"] in states]
        return found[0] if found else None

    claim: dict[str, Any] = await eventually(built, timeout_s=60, what=f"a claim of {encounter_id} in {states}")
    return claim


async def test_a_corrected_patient_releases_the_held_claim_into_an_837_and_a_member_id_fix_reaches_the_coverage(
    running: Running, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    intake, claims = running.clients(tenant)
    async with intake, claims:
        patient_id, coverage_id = await register(intake, "MRN-FIX-1", birth_date=BORN_LATER)
        posted = await intake.post("/v1/encounters", json=encounter("ENC-FIX-1", "MRN-FIX-1", SERVICE_DAY.isoformat()))
        assert posted.status_code == 201, posted.text
        held = await claim_of(claims, posted.json()["id"], "on_hold")
        detail = (await claims.get(f"/v1/claims/{held['id']}")).json()
        assert {f["rule_id"] for f in detail["findings"] if f["severity"] == "error"} == {"date.before_birth"}

        # A member id fixed on the claim goes back to the coverage, with the coverage's history saying so.
        fixed = await claims.post(f"/v1/claims/{held['id']}/fixes", json={"subscriber_member_id": "SYN-FIXED-1"})
        assert fixed.status_code == 200, fixed.text

        async def coverage_fixed() -> dict[str, Any] | None:
            response = await intake.get(f"/v1/patients/{patient_id}/coverages/{coverage_id}")
            return response.json() if response.json()["member_id"] == "SYN-FIXED-1" else None

        await eventually(coverage_fixed, timeout_s=60, what="the member id fixed on the claim to reach the coverage")
        (change,) = (await intake.get(f"/v1/patients/{patient_id}/coverages/{coverage_id}/history")).json()
        assert (change["source"], change["changed_fields"]) == ("claim-fix", ["member_id"])

        # The patient's birth date corrected with a stale ETag is refused; with the current one it applies.
        read = await intake.get(f"/v1/patients/{patient_id}")
        tag = read.headers["etag"]
        stale = await intake.patch(
            f"/v1/patients/{patient_id}", json={"birth_date": "1980-01-01"}, headers={"If-Match": '"stale"'}
        )
        assert stale.status_code == 412 and stale.headers["etag"] == tag
        bad = await intake.patch(f"/v1/patients/{patient_id}", json={"sex": "X", "external_patient_id": "OTHER"})
        assert bad.status_code == 422
        assert {tuple(d["loc"]) for d in bad.json()["errors"]} == {("body", "sex"), ("body", "external_patient_id")}
        corrected = await intake.patch(
            f"/v1/patients/{patient_id}",
            content=b'{"birth_date": "1980-01-01", "address": {"line2": "APT 2"}}',
            headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"},
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["birth_date"] == "1980-01-01" and corrected.json()["address"]["line2"] == "APT 2"
        assert corrected.headers["etag"] != tag
        (patient_change,) = (await intake.get(f"/v1/patients/{patient_id}/history")).json()
        assert patient_change["changed_fields"] == ["address.line2", "birth_date"]
        assert patient_change["before"]["birth_date"] == BORN_LATER

        # The held claim is mended and scrubbed again by itself, and goes out with the correction.
        sent = await claim_of(claims, posted.json()["id"], "submitted")
        history = [h["reason"] for h in (await claims.get(f"/v1/claims/{sent['id']}")).json()["status_history"]]
        assert any(reason.startswith(f"patient {patient_id} corrected") for reason in history)
        text = running.sent_837s()
        assert "DMG*D8*19800101" in text and "SYN-FIXED-1" in text

        # A billing provider's address is held to the 837's rule (ZIP+4), and the NPI cannot change.
        provider = (await intake.post("/v1/providers", json={
            "npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
            "tax_id_type": "EIN", "address": ZIP_PLUS_4, "taxonomy": "207Q00000X"})).json()  # fmt: skip
        five = await intake.patch(f"/v1/providers/{provider['id']}", json={"address": {"postal_code": "62701"}})
        assert five.status_code == 422 and "must be 9 digits" in five.text
        moved = await intake.patch(f"/v1/providers/{provider['id']}", json={"address": {"line1": "2 SYNTHETIC WAY"}})
        assert moved.status_code == 200 and moved.json()["tax_id_last4"] == "0001"
        (provider_change,) = (await intake.get(f"/v1/providers/{provider['id']}/history")).json()
        assert provider_change["changed_fields"] == ["address.line1"] and "tax_id" not in provider_change["after"]
    events = await admin_db.fetch(
        "SELECT event_type FROM intake.outbox WHERE tenant_id = $1 AND event_type = 'party-changed.v1'", tenant
    )
    assert len(events) == 3, "coverage (claim fix), patient, provider: one event per change that changed something"


async def test_held_claims_do_not_hold_each_other_and_one_no_payer_has_seen_is_cancelled_with_its_encounter(
    running: Running,
) -> None:
    tenant = new_tenant()
    intake, claims = running.clients(tenant)
    async with intake, claims:
        patient_id, _ = await register(intake, "MRN-DUP-1", birth_date=BORN_LATER)
        day = SERVICE_DAY.isoformat()
        first = (await intake.post("/v1/encounters", json=encounter("ENC-DUP-1", "MRN-DUP-1", day))).json()
        second = (await intake.post("/v1/encounters", json=encounter("ENC-DUP-2", "MRN-DUP-1", day))).json()
        held = [await claim_of(claims, e["id"], "on_hold") for e in (first, second)]
        for claim in held:
            detail = (await claims.get(f"/v1/claims/{claim['id']}")).json()
            assert "duplicate.claim" not in {f["rule_id"] for f in detail["findings"]}, detail["findings"]

        refused = await claims.post(f"/v1/claims/{held[1]['id']}/cancel", json={})
        assert refused.status_code == 422
        cancelled = await claims.post(f"/v1/claims/{held[1]['id']}/cancel", json={"reason": "entered twice"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled"
        assert cancelled.json()["status_history"][-1]["reason"] == "cancelled: entered twice"
        again = await claims.post(f"/v1/claims/{held[1]['id']}/cancel", json={"reason": "entered twice"})
        assert again.status_code == 200 and again.json()["status_history"] == cancelled.json()["status_history"]

        async def encounter_cancelled() -> dict[str, Any] | None:
            shown = (await intake.get(f"/v1/encounters/{second['id']}")).json()
            return shown if shown["status"] == "cancelled" else None

        shown = await eventually(encounter_cancelled, timeout_s=60, what="the encounter cancelled with its claim")
        assert shown["cancel_reason"] == "entered twice" and shown["patient_id"] == patient_id

        # Corrected, the other claim goes out: the cancelled one bills nothing, so it duplicates nothing.
        assert (await intake.patch(f"/v1/patients/{patient_id}", json={"birth_date": "1980-01-01"})).status_code == 200
        sent = await claim_of(claims, first["id"], "submitted")
        late = await claims.post(f"/v1/claims/{sent['id']}/cancel", json={"reason": "too late"})
        assert late.status_code == 409 and "on hold, ready or rejected" in late.text


async def test_claims_patients_and_encounters_are_found_page_by_page_and_link_to_each_other(running: Running) -> None:
    tenant = new_tenant()
    intake, claims = running.clients(tenant)
    async with intake, claims:
        patient_id, _ = await register(intake, "MRN-FIND-1")
        other_id, _ = await register(intake, "MRN-FIND-2")
        days = [(SERVICE_DAY - dt.timedelta(days=n)).isoformat() for n in (0, 1, 2)]
        posted = [
            (await intake.post("/v1/encounters", json=encounter(f"ENC-FIND-{n}", "MRN-FIND-1", day))).json()
            for n, day in enumerate(days)
        ]
        await intake.post("/v1/encounters", json=encounter("ENC-FIND-X", "MRN-FIND-2", days[0]))
        built = [await claim_of(claims, e["id"]) for e in posted]
        assert all(claim["patient_id"] == patient_id for claim in built)

        seen: list[str] = []
        params: dict[str, Any] = {"patient_id": patient_id, "limit": 2}
        while True:
            page = (await claims.get("/v1/claims", params=params)).json()
            seen += [claim["id"] for claim in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert sorted(seen) == sorted(claim["id"] for claim in built)

        async def ids(**filters: Any) -> set[str]:
            response = await claims.get("/v1/claims", params=filters)
            assert response.status_code == 200, response.text
            return {claim["id"] for claim in response.json()["items"]}

        assert await ids(service_date_from=days[1], service_date_to=days[0], patient_id=patient_id) == {
            built[0]["id"],
            built[1]["id"],
        }
        assert await ids(claim_number=built[2]["claim_control_number"]) == {built[2]["id"]}
        assert len(await ids(provider_npi="1987654328", payer_id="SANDBOX")) == 4
        assert await ids(state=["paid", "denied"]) == set()
        assert (await claims.get("/v1/claims", params={"cursor": "not-ours"})).status_code == 422
        assert (await claims.get("/v1/claims", params={"state": "nonsense"})).status_code == 422

        async def patients(**filters: Any) -> list[str]:
            response = await intake.get("/v1/patients", params=filters)
            assert response.status_code == 200, response.text
            return [patient["id"] for patient in response.json()["items"]]

        assert await patients(external_patient_id="MRN-FIND-1") == [patient_id]
        assert await patients(mrn="MRN-FIND-2") == [other_id]
        assert await patients(last_name="doe", birth_date="1980-01-01") == [patient_id, other_id]
        assert await patients(member_id="SYN-MRN-FIND-2") == [other_id]
        first = (await intake.get("/v1/patients", params={"last_name": "DOE", "limit": 1})).json()
        rest = await patients(last_name="DOE", cursor=first["next_cursor"])
        assert [p["id"] for p in first["items"]] + rest == [patient_id, other_id]

        listed = (await intake.get("/v1/encounters", params={"patient_id": patient_id})).json()
        assert [e["id"] for e in listed["items"]] == [e["id"] for e in posted]
        assert all(e["patient_id"] == patient_id for e in listed["items"])
        shown = (await claims.get(f"/v1/claims/{built[0]['id']}")).json()
        assert (shown["encounter_id"], shown["patient_id"], shown["payments"]) == (posted[0]["id"], patient_id, [])


async def test_a_resend_with_other_content_is_a_409_naming_the_fields_and_the_same_content_a_200(
    running: Running, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    intake, claims = running.clients(tenant)
    async with intake, claims:
        patient_id, coverage_id = await register(intake, "MRN-409-1")
        second = {"payer_id": "SANDBOX", "priority": "secondary", "member_id": "SYN-OTHER"}
        assert (await intake.post(f"/v1/patients/{patient_id}/coverages", json=second)).status_code == 201
        taken = await intake.patch(
            f"/v1/patients/{patient_id}/coverages/{coverage_id}", json={"member_id": "SYN-OTHER"}
        )
        assert taken.status_code == 409 and "member id" in taken.text
        body = encounter("ENC-409-1", "MRN-409-1", SERVICE_DAY.isoformat())
        first = await intake.post("/v1/encounters", json=body)
        same = await intake.post("/v1/encounters", json=body)
        assert (first.status_code, same.status_code, same.json()["id"]) == (201, 200, first.json()["id"])
        other = encounter("ENC-409-1", "MRN-409-1", SERVICE_DAY.isoformat(), procedure="99214", charge_cents=20000)
        conflict = await intake.post("/v1/encounters", json=other)
        assert conflict.status_code == 409, conflict.text
        (problem,) = conflict.json()["errors"]
        assert problem["differing_fields"] == ["lines.0.charge_cents", "lines.0.procedure_code"]
        assert problem["existing_id"] == first.json()["id"]
        batch = {"encounters": [encounter("ENC-409-2", "MRN-409-1", SERVICE_DAY.isoformat()), other]}
        refused = await intake.post("/v1/encounters:batch", json=batch)
        assert refused.status_code == 409 and refused.json()["errors"][0]["loc"] == ["body", "encounters", 1]

        rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
        assert (await intake.post("/v1/providers", json=rendering)).status_code == 200
        renamed = await intake.post("/v1/providers", json=rendering | {"first_name": "ALEXIS"})
        assert renamed.status_code == 409 and renamed.json()["errors"][0]["differing_fields"] == ["first_name"]
    stored = await admin_db.fetchval("SELECT count(*) FROM intake.encounters WHERE tenant_id = $1", tenant)
    assert stored == 1, "a refused re-send or batch stores nothing"


async def test_encounter_patient_claim_and_payments_link_to_each_other_and_remittance_lists_page(
    running: Running,
) -> None:
    tenant = new_tenant()
    intake, claims = running.clients(tenant)
    headers = running.pipeline.auth(tenant, *SCOPES)
    remittance = httpx.AsyncClient(base_url=running.remittance.base_url, headers=headers, timeout=30)
    async with intake, claims, remittance:
        patient_id, _ = await register(intake, "MRN-LINK-1")
        posted = await intake.post(
            "/v1/encounters", json=encounter("ENC-LINK-1", "MRN-LINK-1", SERVICE_DAY.isoformat())
        )
        sent = await claim_of(claims, posted.json()["id"], "submitted")
        number = sent["claim_control_number"]

        async def remittance_knows() -> bool:
            return (await remittance.get(f"/v1/submitted-claims/{number}")).status_code == 200

        await eventually(remittance_knows, timeout_s=60, what="remittance to take claim-submitted")
        trace = f"T{number}"
        spec = ClaimSpec(
            number, (LineSpec("99213", 12500, 9000, (("CO", "45", 1500), ("PR", "2", 2000)), f"{number}-1"),)
        )
        upload = await remittance.post("/v1/remittances", content=remittance_file([spec], trace=trace), headers=X12)
        assert upload.status_code == 201 and upload.json()["posted"] == 1, upload.text

        paid = await claim_of(claims, posted.json()["id"], "partially_paid", "paid")
        shown = (await claims.get(f"/v1/claims/{paid['id']}")).json()
        (payment,) = shown["payments"]
        assert (payment["trace_number"], payment["paid_cents"]) == (trace, 9000)
        found = (await remittance.get(f"/v1/payments/{payment['payment_id']}")).json()
        assert (found["claim_id"], found["patient_id"]) == (paid["id"], patient_id)
        assert found["remittance_id"] == upload.json()["remittance_id"]
        encounter_shown = (await intake.get(f"/v1/encounters/{shown['encounter_id']}")).json()
        assert encounter_shown["patient_id"] == patient_id == shown["patient_id"]
        by_trace = (await remittance.get("/v1/payments", params={"trace_number": trace})).json()
        assert [p["id"] for p in by_trace["items"]] == [payment["payment_id"]]
        by_patient = (await remittance.get("/v1/payments", params={"patient_id": patient_id})).json()
        assert [p["claim_id"] for p in by_patient["items"]] == [paid["id"]]
        listed = (await remittance.get("/v1/remittances", params={"limit": 1})).json()
        assert [r["remittance_id"] for r in listed["items"]] == [upload.json()["remittance_id"]]
        assert listed["next_cursor"] is not None
        after = (await remittance.get("/v1/remittances", params={"limit": 1, "cursor": listed["next_cursor"]})).json()
        assert after == {"items": [], "next_cursor": None}

        key = {"Idempotency-Key": f"pay-{number}"}
        paid_now = await remittance.post(
            f"/v1/accounts/{patient_id}/payments", json={"amount_cents": 500, "method": "card"}, headers=key
        )
        assert paid_now.status_code == 201, paid_now.text
        plan = await remittance.post(
            f"/v1/accounts/{patient_id}/payment-plans", json={"installments": 3, "first_due": SERVICE_DAY.isoformat()}
        )
        assert plan.status_code == 201, plan.text
        assert (await remittance.get(f"/v1/payment-plans/{plan.json()['id']}")).json() == plan.json()
        plans = (await remittance.get("/v1/payment-plans", params={"patient_id": patient_id})).json()
        assert [p["id"] for p in plans["items"]] == [plan.json()["id"]]
        payments = (await remittance.get("/v1/patient-payments", params={"patient_id": patient_id})).json()
        assert [p["id"] for p in payments["items"]] == [paid_now.json()["id"]]
        assert (await remittance.get("/v1/payment-plans/overdue")).status_code == 200
