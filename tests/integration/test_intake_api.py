"""Intake against its real process, Postgres and Kafka: registration, batches, idempotency, 422s, FHIR."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from cli.services import ServiceProcess
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import from_kafka
from tests.support.fhir_samples import claim_bundle
from tests.support.intake_builders import registered_encounter as encounter
from tests.support.pipeline import Pipeline, end_offsets, eventually, new_tenant, read_from

pytestmark = pytest.mark.integration
DAY = "2026-03-02"
WRITE = ("patients:write", "patients:read", "providers:write", "payers:write", "encounters:write", "encounters:read")
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
ZIP_PLUS_4 = ADDRESS | {"postal_code": "627010001"}


@pytest.fixture(scope="module")
async def intake(pipeline: Pipeline) -> AsyncIterator[ServiceProcess]:
    """One intake process (relay on) for the module: starting one costs seconds on a 2-core box."""
    process = await pipeline.start("intake")
    yield process
    process.kill()
    pipeline.started.remove(process)


async def register(client: httpx.AsyncClient, mrn: str = "MRN-1") -> str:
    """A payer, a billing organization, a rendering clinician, a patient and a primary coverage."""
    payer = {"payer_id": "SANDBOX", "name": "SANDBOX HEALTH PLAN", "claim_filing_indicator": "CI",
             "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
    billing = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
               "tax_id_type": "EIN", "address": ZIP_PLUS_4, "taxonomy": "207Q00000X"}  # fmt: skip
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    patient = {"external_patient_id": mrn, "last_name": "DOE", "first_name": "JANE", "birth_date": "1980-01-01",
               "sex": "F", "address": ADDRESS}  # fmt: skip
    for path, body in (("/v1/payers", payer), ("/v1/providers", billing), ("/v1/providers", rendering)):
        assert (await client.post(path, json=body)).status_code in (200, 201)
    created = await client.post("/v1/patients", json=patient)
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": "SYN0001", "group_number": "G1"}
    assert (await client.post(f"/v1/patients/{patient_id}/coverages", json=coverage)).status_code == 201
    return str(patient_id)


async def tenant_events(pipeline: Pipeline, start: dict[Any, int], tenant: str) -> list[EncounterCodedV1]:
    records = await read_from(pipeline.kafka, start)
    envelopes = [from_kafka(r.key, r.value, list(r.headers)) for r in records]
    return [e.payload_as(EncounterCodedV1) for e in envelopes if e.tenant == tenant]


async def outbox_rows(admin_db: asyncpg.Connection, tenant: str) -> int:
    return int(await admin_db.fetchval("SELECT count(*) FROM intake.outbox WHERE tenant_id = $1", tenant))


async def test_registered_parties_make_a_complete_event_and_stay_in_their_tenant(
    pipeline: Pipeline, intake: ServiceProcess
) -> None:
    tenant = new_tenant()
    start = await end_offsets(pipeline.kafka, "encounter-coded")
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        patient_id = await register(client)
        created = await client.post("/v1/encounters", json=encounter("ENC-FULL-1"))
        assert created.status_code == 201, created.text
        assert created.json()["unresolved"] == []
        other = pipeline.auth(new_tenant(), *WRITE)
        assert (await client.get(f"/v1/patients/{patient_id}", headers=other)).status_code == 404
        assert (await client.get(f"/v1/encounters/{created.json()['id']}", headers=other)).status_code == 404
    (event,) = await _eventually_events(pipeline, start, tenant, 1)
    assert event.coverage is not None and event.coverage.payer.name == "SANDBOX HEALTH PLAN"
    assert event.billing_provider is not None and event.rendering_provider is not None
    assert event.phi is not None and event.phi.subscribers[0].member_id == "SYN0001"
    assert event.icd10cm_release is not None and event.unresolved == []


async def test_a_batch_of_1000_gives_1000_events_and_its_repeat_creates_nothing(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    start = await end_offsets(pipeline.kafka, "encounter-coded")
    batch = {"encounters": [encounter(f"ENC-B-{i:04d}") for i in range(1000)]}
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE), timeout=60) as client:
        await register(client)
        first = await client.post("/v1/encounters:batch", json=batch)
        assert first.status_code == 200, first.text[:500]
        assert (first.json()["created"], first.json()["existing"]) == (1000, 0)
        again = await client.post("/v1/encounters:batch", json=batch)
        assert (again.json()["created"], again.json()["existing"]) == (0, 1000)
        assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert await outbox_rows(admin_db, tenant) == 1000
    events = await _eventually_events(pipeline, start, tenant, 1000)
    assert len({e.encounter_id for e in events}) == 1000
    assert all(e.phi is not None and e.coverage is not None for e in events)


async def test_an_idempotency_key_replays_the_first_result_and_refuses_another_body(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        await register(client)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/v1/encounters", json=encounter("ENC-K-1"), headers=key)
        replay = await client.post("/v1/encounters", json=encounter("ENC-K-1"), headers=key)
        other = await client.post("/v1/encounters", json=encounter("ENC-K-2"), headers=key)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == first.json()
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await outbox_rows(admin_db, tenant) == 1


async def test_bad_encounters_are_422s_naming_every_field_and_create_nothing(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    bad_codes = encounter("ENC-BAD-2", diagnosis_codes=["J06", "J06.9"])
    bad_codes["lines"][0]["diagnosis_pointers"] = [3]
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        await register(client)
        npi = await client.post("/v1/encounters", json=encounter("ENC-BAD-1", billing_provider_npi="1234567890"))
        codes = await client.post("/v1/encounters", json=bad_codes)
        future = await client.post(
            "/v1/encounters:batch",
            json={"encounters": [encounter("ENC-BAD-3"), encounter("ENC-BAD-4", service_date_to="2999-01-01")]},
        )
        cents = await client.post("/v1/encounters", json=_with_charge(encounter("ENC-BAD-5"), 125.5))
    assert npi.status_code == 422 and npi.json()["errors"][0]["loc"] == ["body", "billing_provider_npi"]
    assert {tuple(d["loc"]) for d in codes.json()["errors"]} == {
        ("body", "diagnosis_codes", 0),
        ("body", "lines", 0, "diagnosis_pointers"),
    }
    assert future.status_code == 422
    assert ["body", "encounters", 1, "service_date_to"] in [d["loc"] for d in future.json()["errors"]]
    assert cents.json()["errors"][0]["loc"] == ["body", "lines", 0, "charge_cents"]
    assert await outbox_rows(admin_db, tenant) == 0
    assert await admin_db.fetchval("SELECT count(*) FROM intake.encounters WHERE tenant_id = $1", tenant) == 0


async def test_a_fhir_bundle_goes_down_the_encounter_path(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        await register(client)
        bundle = claim_bundle(external_id="FHIR-1", mrn="MRN-FHIR-1")
        created = await client.post("/fhir/Claim", json=bundle)
        again = await client.post("/fhir/Claim", json=bundle)
        broken = copy.deepcopy(claim_bundle(external_id="FHIR-2", mrn="MRN-FHIR-1"))
        broken["entry"][3]["resource"]["provider"]["identifier"]["value"] = "1234567890"
        rejected = await client.post("/fhir/Claim", json=broken)
        no_scope = await client.post("/fhir/Claim", json=bundle, headers=pipeline.auth(tenant, "encounters:write"))
    assert created.status_code == 201, created.text
    assert created.json()["total_charge_cents"] == 15500 and created.json()["unresolved"] == []
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    assert rejected.status_code == 422
    assert rejected.headers["content-type"] == "application/fhir+json"
    assert rejected.json()["resourceType"] == "OperationOutcome"
    assert rejected.json()["issue"][0]["expression"] == ["entry[3].resource.provider.identifier.value"]
    assert no_scope.status_code == 403
    assert await admin_db.fetchval("SELECT count(*) FROM intake.patients WHERE tenant_id = $1", tenant) == 2


async def test_once_a_cpt_list_is_loaded_unlisted_cpt_codes_are_422s(
    pipeline: Pipeline, intake: ServiceProcess
) -> None:
    tenant = new_tenant()
    headers = pipeline.auth(tenant, *WRITE, "codesets:write")
    unlisted = encounter("ENC-CPT-1")
    unlisted["lines"].append({"line_number": 2, "procedure_code": "87880", "modifiers": ["QW"], "units": 1,
                              "charge_cents": 3000, "diagnosis_pointers": [1], "service_date": DAY})  # fmt: skip
    async with httpx.AsyncClient(base_url=intake.base_url, headers=headers) as client:
        await register(client)
        loaded = await client.post("/v1/cpt-codes", json={"codes": [{"code": "99213"}, {"code": "99214"}]})
        refused = await client.post("/v1/encounters", json=unlisted)
        accepted = await client.post("/v1/encounters", json=encounter("ENC-CPT-2"))
    assert loaded.json() == {"loaded": 2, "total": 2}
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["errors"]] == [["body", "lines", 1, "procedure_code"]]
    assert accepted.status_code == 201


def _with_charge(body: dict[str, Any], charge: object) -> dict[str, Any]:
    body["lines"][0]["charge_cents"] = charge
    return body


async def _eventually_events(
    pipeline: Pipeline, start: dict[Any, int], tenant: str, count: int
) -> list[EncounterCodedV1]:
    async def arrived() -> list[EncounterCodedV1]:
        events = await tenant_events(pipeline, start, tenant)
        return events if len(events) >= count else []

    events: list[EncounterCodedV1] = await eventually(arrived, timeout_s=60, what=f"{count} events on encounter-coded")
    assert len(events) == count, f"{len(events)} of {count} events on encounter-coded"
    return events
