"""PHI at rest against the real intake process and Postgres: parties sealed in the database and read back in
plaintext, searchable by blind index; published `encounter-coded` outbox rows without their PHI; every read
of PHI in the append-only access log, shown to auditors only; rows stored before encryption readable, then
sealed; data key and KEK rotation with old values readable meanwhile and only the new key needed after."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.services import ServiceProcess
from services.intake.models import patients, phi_keys
from services.intake.repository import PHI_AT_REST, PatientQuery, PatientRepository
from services.intake.schemas import EncounterIn
from shared.db import create_engine, create_sessionmaker
from shared.phi.crypto import PhiKeyError, key_version
from shared.phi.keys import PhiSettings, configure_keyring
from shared.phi.rotation import encrypt_existing, rotate_data_key, rotate_kek
from tests.support.cli_process import claimflow
from tests.support.intake_builders import registered_encounter
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration
STEM = "QXPHIREST"
BIRTH_DATE = "1911-11-11"
TAX_ID = "987650001"
WRITE = (
    "patients:write",
    "patients:read",
    "providers:write",
    "providers:read",
    "payers:write",
    "encounters:write",
    "encounters:read",
)
ADDRESS = {"line1": f"77 {STEM} LANE", "city": "SPRINGFIELD", "state": "IL", "postal_code": "627010001"}
PHI_TABLES = ("patients", "coverages", "providers", "party_changes")


@pytest.fixture(scope="module")
async def intake(pipeline: Pipeline) -> AsyncIterator[ServiceProcess]:
    process = await pipeline.start("intake")
    yield process
    process.kill()
    pipeline.started.remove(process)


@pytest.fixture
async def intake_engine(pipeline: Pipeline) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pipeline.role_url("intake"), pool_size=2)
    yield engine
    await engine.dispose()


def patient_body(mrn: str) -> dict[str, Any]:
    return {"external_patient_id": mrn, "last_name": f"{STEM}LAST", "first_name": f"{STEM}FIRST",
            "birth_date": BIRTH_DATE, "sex": "F", "address": ADDRESS}  # fmt: skip


BILLING_PROVIDER = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": TAX_ID,
                    "tax_id_type": "EIN", "address": ADDRESS, "taxonomy": "207Q00000X"}  # fmt: skip


async def register(client: httpx.AsyncClient, mrn: str) -> tuple[str, str]:
    payer = {"payer_id": "SANDBOX", "name": "SANDBOX HEALTH PLAN", "claim_filing_indicator": "CI",
             "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
    billing = BILLING_PROVIDER
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    for path, body in (("/v1/payers", payer), ("/v1/providers", billing), ("/v1/providers", rendering)):
        assert (await client.post(path, json=body)).status_code in (200, 201)
    created = await client.post("/v1/patients", json=patient_body(mrn))
    assert created.status_code == 201, created.text
    patient_id = str(created.json()["id"])
    coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": f"{STEM}MBR1", "group_number": "G1"}
    covered = await client.post(f"/v1/patients/{patient_id}/coverages", json=coverage)
    assert covered.status_code == 201, covered.text
    return patient_id, str(covered.json()["id"])


async def dump(admin_db: asyncpg.Connection, tenant: str, tables: tuple[str, ...] = PHI_TABLES) -> str:
    """The tenant's rows of the PHI tables as text, as a database dump would show them."""
    rows = []
    for table in tables:
        query = f"SELECT t::text FROM intake.{table} t WHERE tenant_id = $1"  # noqa: S608
        rows += [row[0] for row in await admin_db.fetch(query, tenant)]
    return "\n".join(rows)


def no_phi_in(text: str) -> bool:
    return STEM not in text.upper() and BIRTH_DATE not in text and TAX_ID not in text


async def test_parties_are_sealed_at_rest_searchable_and_read_back_in_plaintext(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    mrn = f"{STEM}MRN"
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        patient_id, coverage_id = await register(client, mrn)
        again = await client.post("/v1/patients", json=patient_body(mrn))
        assert (again.status_code, again.json()["id"]) == (200, patient_id)
        read = await client.get(f"/v1/patients/{patient_id}")
        shown = read.json()
        assert (shown["last_name"], shown["birth_date"], shown["address"]["line1"], shown["external_patient_id"]) == (
            f"{STEM}LAST",
            BIRTH_DATE,
            ADDRESS["line1"],
            mrn,
        )
        coverage = (await client.get(f"/v1/patients/{patient_id}/coverages/{coverage_id}")).json()
        assert coverage["member_id"] == f"{STEM}MBR1"
        for query in (
            {"last_name": f"{STEM}last", "birth_date": BIRTH_DATE},
            {"first_name": f"{STEM}First"},
            {"mrn": mrn},
            {"member_id": f"{STEM}MBR1"},
        ):
            found = (await client.get("/v1/patients", params=query)).json()["items"]
            assert [p["id"] for p in found] == [patient_id], query
        assert (await client.get("/v1/patients", params={"last_name": "OTHER"})).json()["items"] == []
        patched = await client.patch(
            f"/v1/patients/{patient_id}",
            json={"first_name": f"{STEM}NEWFIRST"},
            headers={"If-Match": read.headers["ETag"], "Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text
        (change,) = (await client.get(f"/v1/patients/{patient_id}/history")).json()
        assert (change["before"]["first_name"], change["after"]["first_name"]) == (f"{STEM}FIRST", f"{STEM}NEWFIRST")
    stored = await dump(admin_db, tenant)
    assert stored.count("\n") >= 4, "the tenant's parties and its history row are stored"
    assert no_phi_in(stored)


async def test_an_idempotent_registrations_stored_answer_is_sealed_and_replayed(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection, intake_engine: AsyncEngine
) -> None:
    tenant = new_tenant()
    headers = {**pipeline.auth(tenant, *WRITE), "Idempotency-Key": "register-once"}
    query = (
        "SELECT response_body, response_sealed, t::text AS dumped FROM intake.idempotency_keys t WHERE tenant_id = $1"
    )
    async with httpx.AsyncClient(base_url=intake.base_url, headers=headers) as client:
        first = await client.post("/v1/patients", json=patient_body("MRN-IDEM"))
        assert first.status_code == 201, first.text

        async def replayed() -> None:
            again = await client.post("/v1/patients", json=patient_body("MRN-IDEM"))
            assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
            assert again.json() == first.json() and STEM in again.text.upper()

        await replayed()
        stored = await admin_db.fetchrow(query, tenant)
        assert stored is not None and stored["response_body"] is None and stored["response_sealed"] is not None
        assert no_phi_in(stored["dumped"])

        # An answer stored before 0008 (made so here) is replayed as it is, then sealed by the command.
        await admin_db.execute(
            "UPDATE intake.idempotency_keys SET response_body = $2::jsonb, response_sealed = NULL WHERE tenant_id = $1",
            tenant,
            first.text,
        )
        await replayed()
        assert await encrypt_existing(intake_engine, PHI_AT_REST, progress=lambda _: None) >= 1
        stored = await admin_db.fetchrow(query, tenant)
        assert stored is not None and stored["response_body"] is None and no_phi_in(stored["dumped"])
        await replayed()


PHI_EVENTS = {"encounter-coded.v1", "party-changed.v1"}


async def test_published_rows_of_phi_events_keep_no_phi(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    """`encounter-coded` carries a `phi` block; a provider's `party-changed` carries its tax id outside one."""
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        await register(client, "MRN-OUTBOX")
        created = await client.post("/v1/encounters", json=registered_encounter("ENC-PHI-1", mrn="MRN-OUTBOX"))
        assert created.status_code == 201, created.text
        provider_id = (await client.post("/v1/providers", json=BILLING_PROVIDER)).json()["id"]
        read = await client.get(f"/v1/providers/{provider_id}")
        assert read.status_code == 200, read.text
        patched = await client.patch(
            f"/v1/providers/{provider_id}",
            json={"name": "SYNTHETIC CLINIC WEST"},
            headers={"If-Match": read.headers["ETag"], "Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text

    async def published() -> list[asyncpg.Record]:
        rows = await admin_db.fetch(
            "SELECT envelope, payload, event_type, published_at FROM intake.outbox WHERE tenant_id = $1 ORDER BY id",
            tenant,
        )
        types = {row["event_type"] for row in rows}
        done = PHI_EVENTS <= types and all(row["published_at"] for row in rows)
        return rows if done else []

    rows = await eventually(published, what="the encounter-coded and party-changed rows published")
    with_phi = [json.loads(row["payload"]) for row in rows if row["event_type"] in PHI_EVENTS]
    assert len(with_phi) >= 2 and with_phi == [{}] * len(with_phi)
    assert no_phi_in("".join(row["envelope"] + (row["payload"] or "") for row in rows))


async def test_reads_of_phi_are_logged_append_only_and_shown_to_auditors_only(
    pipeline: Pipeline, intake: ServiceProcess, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:
        patient_id, coverage_id = await register(client, "MRN-AUDIT")
        why = {"X-Purpose-Of-Use": "treatment", "X-Request-ID": "req-audit-1"}
        assert (await client.get(f"/v1/patients/{patient_id}", headers=why)).status_code == 200
        assert (await client.get(f"/v1/patients/{patient_id}/coverages")).status_code == 200
        assert (await client.get(f"/v1/patients/{uuid.uuid4()}")).status_code == 404
        bad = await client.get(f"/v1/patients/{patient_id}", headers={"X-Purpose-Of-Use": "no;semicolons"})
        assert bad.status_code == 422
        assert (await client.get("/v1/phi-access")).status_code == 403
    auditor = pipeline.auth(tenant, "auditor")
    async with httpx.AsyncClient(base_url=intake.base_url, headers=auditor) as client:
        log = (await client.get("/v1/phi-access", params={"record_type": "patient"})).json()["items"]
        assert [(e["record_id"], e["subject"], e["purpose"], e["request_id"], e["route"]) for e in log] == [
            (patient_id, "test-suite", "treatment", "req-audit-1", "GET /v1/patients/{patient_id}")
        ]
        (coverage_read,) = (await client.get("/v1/phi-access", params={"record_id": coverage_id})).json()["items"]
        assert (coverage_read["record_type"], coverage_read["purpose"]) == ("coverage", "payment")
        first = (await client.get("/v1/phi-access", params={"limit": 1})).json()
        second = (await client.get("/v1/phi-access", params={"limit": 1, "cursor": first["next_cursor"]})).json()
        assert {first["items"][0]["id"], second["items"][0]["id"]} == {e["id"] for e in log + [coverage_read]}
        since = log[0]["accessed_at"]
        assert (await client.get("/v1/phi-access", params={"until": since})).json()["items"] == []
    other = pipeline.auth(new_tenant(), "auditor")
    async with httpx.AsyncClient(base_url=intake.base_url, headers=other) as client:
        assert (await client.get("/v1/phi-access")).json()["items"] == []
    as_intake = await asyncpg.connect(pipeline.role_url("intake").replace("postgresql+asyncpg", "postgresql"))
    try:
        for statement in (
            "UPDATE intake.phi_access SET purpose = 'x' WHERE tenant_id = $1",
            "DELETE FROM intake.phi_access WHERE tenant_id = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await as_intake.execute(statement, tenant)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_intake.execute("TRUNCATE intake.phi_access")
    finally:
        await as_intake.close()
    assert await admin_db.fetchval("SELECT count(*) FROM intake.phi_access WHERE tenant_id = $1", tenant) == 2


async def _legacy_patient(engine: AsyncEngine, tenant: str, mrn: str) -> uuid.UUID:
    """A patient as stored before 0006: its record in plaintext."""
    patient_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(patients).values(
                id=patient_id, tenant_id=tenant, external_patient_id=mrn, record=patient_body(mrn), phi=None
            )
        )
    return patient_id


async def _read(engine: AsyncEngine, tenant: str, patient_id: uuid.UUID) -> dict[str, Any]:
    async with create_sessionmaker(engine)() as session:
        found = await PatientRepository(session, tenant).get(patient_id)
        assert found is not None
        by_name = await PatientRepository(session, tenant).search(
            PatientQuery(last_name=f"{STEM}LAST", birth_date=found.birth_date), after=None, limit=10
        )
        assert patient_id in {p.id for p, _ in by_name}
        return found.model_dump(mode="json")


async def _versions(admin_db: asyncpg.Connection, tenant: str) -> list[int]:
    rows = await admin_db.fetch("SELECT phi FROM intake.patients WHERE tenant_id = $1", tenant)
    return sorted(key_version(row["phi"]) for row in rows)


class Interrupted(Exception):
    pass


async def test_rows_stored_before_encryption_are_read_then_sealed_and_keys_rotate(
    pipeline: Pipeline, intake_engine: AsyncEngine, admin_db: asyncpg.Connection
) -> None:
    local = f"local:{pipeline.secrets.phi_kek}"
    settings = PhiSettings(environment="test", phi_keks=local, phi_key_cache_s=0)
    keyring = configure_keyring(settings)
    tenant = new_tenant()
    legacy = [await _legacy_patient(intake_engine, tenant, f"{STEM}MRN{n}") for n in range(2)]
    plaintext = [await _read(intake_engine, tenant, patient_id) for patient_id in legacy]
    assert STEM in await dump(admin_db, tenant, ("patients",))

    assert await encrypt_existing(intake_engine, PHI_AT_REST, batch_size=1, progress=lambda _: None) >= 2
    assert no_phi_in(await dump(admin_db, tenant, ("patients",)))
    assert [await _read(intake_engine, tenant, p) for p in legacy] == plaintext
    assert await _versions(admin_db, tenant) == [1, 1]

    def crash_after_first_batch(message: str) -> None:
        if "re-sealed" in message:
            raise Interrupted

    with pytest.raises(Interrupted):
        await rotate_data_key(
            intake_engine, PHI_AT_REST, keyring, tenant, batch_size=1, cache_s=0, progress=crash_after_first_batch
        )
    assert await _versions(admin_db, tenant) == [1, 2], "half rotated"
    keyring.forget()
    assert [await _read(intake_engine, tenant, p) for p in legacy] == plaintext, "old and new values both open"

    rotation = await rotate_data_key(intake_engine, PHI_AT_REST, keyring, tenant, cache_s=0)
    assert (rotation.version, rotation.resealed, rotation.retired, rotation.kept_until) == (2, 1, [1], None)
    assert await _versions(admin_db, tenant) == [2, 2]
    data_keys = await admin_db.fetch(
        "SELECT version FROM intake.phi_keys WHERE tenant_id = $1 AND purpose = 'data'", tenant
    )
    assert [row["version"] for row in data_keys] == [2], "only the new data key is kept"
    keyring.forget()
    assert [await _read(intake_engine, tenant, p) for p in legacy] == plaintext

    new_kek = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    rotated = PhiSettings(environment="test", phi_keks=f"k2:{new_kek},{local}", phi_key_cache_s=0).kek_ring()
    assert await rotate_kek(intake_engine, phi_keys, rotated, tenants=[tenant]) == 2, "data and index key"
    configure_keyring(PhiSettings(environment="test", phi_keks=f"k2:{new_kek}", phi_key_cache_s=0))
    assert [await _read(intake_engine, tenant, p) for p in legacy] == plaintext, "the new KEK alone opens them"
    configure_keyring(settings)
    with pytest.raises(PhiKeyError, match="k2"):
        await _read(intake_engine, tenant, legacy[0])


async def test_the_phi_commands_seal_and_rotate_a_services_rows(
    pipeline: Pipeline, intake_engine: AsyncEngine, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    env = {
        "CLAIMFLOW_ENVIRONMENT": "test",
        "CLAIMFLOW_PHI_KEKS": f"local:{pipeline.secrets.phi_kek}",
        "CLAIMFLOW_PHI_KEY_CACHE_S": "0",
    }
    url = ("--service", "intake", "--database-url", pipeline.role_url("intake"))
    patient_id = await _legacy_patient(intake_engine, tenant, f"{STEM}MRN-CLI")
    assert " rows sealed" in await claimflow("phi", "encrypt-existing", *url, env=env)
    assert await _versions(admin_db, tenant) == [1]
    rotated = await claimflow("phi", "rotate-data-key", "--tenant", tenant, *url, env=env)
    assert "data key version 2, 1 values re-sealed" in rotated and "retired versions 1" in rotated
    assert await _versions(admin_db, tenant) == [2]
    k3 = base64.b64encode(uuid.uuid4().bytes * 2).decode()
    both = env | {"CLAIMFLOW_PHI_KEKS": f"k3:{k3},{env['CLAIMFLOW_PHI_KEKS']}"}
    rewrapped = await claimflow("phi", "rotate-kek", "--tenant", tenant, *url, env=both)
    assert "2 keys re-wrapped under KEK k3" in rewrapped
    configure_keyring(PhiSettings(environment="test", phi_keks=f"k3:{k3}", phi_key_cache_s=0))
    assert (await _read(intake_engine, tenant, patient_id))["external_patient_id"] == f"{STEM}MRN-CLI"


async def test_an_encounters_mrn_is_sealed_read_back_for_resends_and_sealed_when_stored_before(
    pipeline: Pipeline, intake: ServiceProcess, intake_engine: AsyncEngine, admin_db: asyncpg.Connection
) -> None:
    configure_keyring(PhiSettings(environment="test", phi_keks=f"local:{pipeline.secrets.phi_kek}", phi_key_cache_s=0))
    tenant = new_tenant()
    mrn = f"{STEM}MRN-ENC"
    body = registered_encounter("ENC-PHI-SEALED", mrn=mrn)
    async with httpx.AsyncClient(base_url=intake.base_url, headers=pipeline.auth(tenant, *WRITE)) as client:

        async def resent_as_a_repeat() -> None:
            again = await client.post("/v1/encounters", json=body)  # compared with the stored coding, MRN included
            assert (again.status_code, again.json()["id"]) == (200, encounter_id), again.text
            other = await client.post("/v1/encounters", json={**body, "prior_authorization": "PA-OTHER"})
            assert other.status_code == 409 and "prior_authorization" in other.text, other.text

        await register(client, mrn)
        created = await client.post("/v1/encounters", json=body)
        assert created.status_code == 201, created.text
        encounter_id = created.json()["id"]
        stored = await dump(admin_db, tenant, ("encounters",))
        assert "ENC-PHI-SEALED" in stored and "99213" in stored, "the non-PHI members stay plain"
        assert no_phi_in(stored)
        await resent_as_a_repeat()

        coding = EncounterIn.model_validate(body).model_dump_json()  # as stored before 0007
        await admin_db.execute(
            "UPDATE intake.encounters SET coding = $2::jsonb, phi = NULL WHERE tenant_id = $1", tenant, coding
        )
        assert not no_phi_in(await dump(admin_db, tenant, ("encounters",)))
        await resent_as_a_repeat()
        assert await encrypt_existing(intake_engine, PHI_AT_REST, progress=lambda _: None) >= 1
        assert no_phi_in(await dump(admin_db, tenant, ("encounters",)))
        await resent_as_a_repeat()
