"""PHI at rest in the claims service, against the real claims process, Kafka and Postgres: an encounter's
demographics, member id and tax id are in no claims table once its claim is created and submitted, yet the
837 the clearinghouse gets (and the one stored) names them, pyx12-clean; a claim-detail read is in the
claims PHI access log, shown to auditors only; rows stored before encryption are read, then sealed by
`claimflow phi encrypt-existing --service claims`, and `rotate-data-key` re-seals every claims column."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.claims.repository import ClaimRepository
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import Address, EncounterCodedV1
from shared.phi.crypto import key_version
from shared.phi.keys import PhiSettings, configure_keyring
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.cli_process import claimflow
from tests.support.encounters import example, produce_all
from tests.support.file_drop import start_claims_on_file_drop
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.sealed import FILE_COLUMNS, SealedPhi

pytestmark = pytest.mark.integration
STEM = "QXCLAIMPHI"
BIRTH = dt.date(1911, 11, 11)
TAX_ID = "987650002"


def canary_encounter() -> EncounterCodedV1:
    """The professional example billed for a patient (her own subscriber) whose every PHI value is a canary."""
    event = example("professional")
    assert event.phi is not None and event.billing_provider is not None
    street = Address(line1=f"77 {STEM} LANE", city="SPRINGFIELD", state="IL", postal_code="62701")
    person = event.phi.patient.model_copy(
        update={"last_name": f"{STEM}LAST", "first_name": f"{STEM}FIRST", "birth_date": BIRTH, "address": street}
    )
    subscribers = [
        s.model_copy(update={"member_id": f"{STEM}MBR", "subscriber": person}) for s in event.phi.subscribers
    ]
    return event.model_copy(
        update={
            "phi": event.phi.model_copy(update={"patient": person, "subscribers": subscribers}),
            "billing_provider": event.billing_provider.model_copy(update={"tax_id": TAX_ID}),
        }
    )


def names_the_canary(text: str) -> bool:
    return STEM in text.upper() or BIRTH.isoformat() in text or BIRTH.strftime("%Y%m%d") in text or TAX_ID in text


async def dump(admin_db: asyncpg.Connection, tenant: str) -> tuple[int, str]:
    """How many of the tenant's rows every claims table holds, and those rows as text (as a dump shows them)."""
    tables = await admin_db.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'claims' AND column_name = 'tenant_id'"
    )
    rows: list[str] = []
    for (table,) in tables:
        query = f"SELECT t::text FROM claims.{table} t WHERE tenant_id = $1"  # noqa: S608 - names from the catalog
        rows += [row[0] for row in await admin_db.fetch(query, tenant)]
    return len(rows), "\n".join(rows)


@pytest.fixture
async def claims_engine(pipeline: Pipeline) -> AsyncIterator[AsyncEngine]:
    configure_keyring(PhiSettings(environment="test", phi_keks=f"local:{pipeline.secrets.phi_kek}", phi_key_cache_s=0))
    engine = create_engine(pipeline.role_url("claims"), pool_size=2)
    yield engine
    await engine.dispose()


async def document_of(engine: AsyncEngine, tenant: str, claim_id: uuid.UUID) -> dict[str, object]:
    async with create_sessionmaker(engine)() as session:
        claim = await ClaimRepository(session, tenant).get(claim_id)
        assert claim is not None and claim.document is not None
        return claim.document


async def test_a_claims_phi_is_sealed_at_rest_read_back_logged_when_read_and_rotated(
    services: Pipeline, admin_db: asyncpg.Connection, claims_engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "clearinghouse"
    claims = await start_claims_on_file_drop(services, folder)
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=claims.base_url, headers=services.auth(tenant, "claims:write")) as client:
        response = await client.put("/v1/scrub-rules/timely_filing.expired", json={"enabled": False})
        assert response.status_code == 200, response.text
    encounter = canary_encounter()
    await produce_all(services.kafka, tenant, [encounter])

    async def submitted() -> asyncpg.Record | None:
        row = await admin_db.fetchrow("SELECT id, state FROM claims.claims WHERE tenant_id = $1", tenant)
        return row if row is not None and row["state"] == "submitted" else None

    claim_id: uuid.UUID = (await eventually(submitted, timeout_s=60, what="the canary's claim submitted"))["id"]

    # At rest: no claims table names the canary; the sealed document and 837 open to what was billed.
    count, stored = await dump(admin_db, tenant)
    assert count >= 4, "the claim, its lines, its history and its 837 are stored"
    assert not names_the_canary(stored)
    assert await document_of(claims_engine, tenant, claim_id) == encounter.model_dump(mode="json")
    file_row = await admin_db.fetchrow(f"SELECT {FILE_COLUMNS} FROM claims.submissions s WHERE tenant_id = $1", tenant)  # noqa: S608
    assert file_row is not None and file_row["x12"] is None
    sent = await SealedPhi(admin_db, services).file_text("submissions", file_row)
    # other tests' encounters on the topic are billed into the same folder: one of the files is the canary's
    assert sent in [path.read_text() for path in folder.rglob("837-*.x12")]
    assert list(validate_with_pyx12(sent)) == []
    for segment in (
        f"NM1*IL*1*{STEM}LAST*{STEM}FIRST*",
        f"*MI*{STEM}MBR~",
        "DMG*D8*19111111*F~",
        f"N3*77 {STEM} LANE~",
    ):
        assert segment in sent, segment
    assert f"REF*EI*{TAX_ID}~" in sent

    async def published_submission() -> str | None:
        query = (
            "SELECT payload::text FROM claims.outbox WHERE tenant_id = $1 AND event_type = 'claim-submitted.v1' "
            "AND published_at IS NOT NULL"
        )
        return await admin_db.fetchval(query, tenant)  # type: ignore[no-any-return]

    published = json.loads(await eventually(published_submission, what="claim-submitted published"))
    assert published == {}, "its member digest (x-phi) is not kept once published"

    # Reading a claim's detail is a PHI read: logged, and shown to the tenant's auditors only.
    read = services.auth(tenant, "claims:read")
    async with httpx.AsyncClient(base_url=claims.base_url, headers=read) as client:
        why = {"X-Purpose-Of-Use": "operations", "X-Request-ID": "req-claim-phi-1"}
        assert (await client.get(f"/v1/claims/{claim_id}", headers=why)).status_code == 200
        assert (await client.get("/v1/phi-access")).status_code == 403
        auditor = services.auth(tenant, "auditor")
        log = (await client.get("/v1/phi-access", params={"record_type": "claim"}, headers=auditor)).json()["items"]
        assert [(e["record_id"], e["subject"], e["purpose"], e["request_id"], e["route"]) for e in log] == [
            (str(claim_id), "test-suite", "operations", "req-claim-phi-1", "GET /v1/claims/{claim_id}")
        ]
        other = services.auth(new_tenant(), "auditor")
        assert (await client.get("/v1/phi-access", headers=other)).json()["items"] == []

    # Rows stored before 0012 (made so here) are read as they are, then sealed by the command.
    document = await document_of(claims_engine, tenant, claim_id)
    await admin_db.execute(
        "UPDATE claims.claims SET document = $2::jsonb, phi = NULL WHERE id = $1", claim_id, json.dumps(document)
    )
    await admin_db.execute("UPDATE claims.submissions SET x12 = $2, phi = NULL WHERE tenant_id = $1", tenant, sent)
    assert names_the_canary((await dump(admin_db, tenant))[1])
    assert await document_of(claims_engine, tenant, claim_id) == document
    env = {
        "CLAIMFLOW_ENVIRONMENT": "test",
        "CLAIMFLOW_PHI_KEKS": f"local:{services.secrets.phi_kek}",
        "CLAIMFLOW_PHI_KEY_CACHE_S": "0",
    }
    url = ("--service", "claims", "--database-url", services.role_url("claims"))
    assert "claims: " in await claimflow("phi", "encrypt-existing", *url, env=env)
    assert not names_the_canary((await dump(admin_db, tenant))[1])
    assert await document_of(claims_engine, tenant, claim_id) == document

    async def versions() -> list[int]:
        rows = await admin_db.fetch(
            "SELECT phi FROM claims.claims WHERE tenant_id = $1 UNION ALL "
            "SELECT phi FROM claims.submissions WHERE tenant_id = $1",
            tenant,
        )
        return [key_version(row["phi"]) for row in rows]

    assert await versions() == [1, 1]
    rotated = await claimflow("phi", "rotate-data-key", "--tenant", tenant, *url, env=env)
    assert "data key version 2, 2 values re-sealed" in rotated and "retired versions 1" in rotated, rotated
    assert await versions() == [2, 2]
    assert await document_of(claims_engine, tenant, claim_id) == document
    file_row = await admin_db.fetchrow(f"SELECT {FILE_COLUMNS} FROM claims.submissions s WHERE tenant_id = $1", tenant)  # noqa: S608
    assert file_row is not None and await SealedPhi(admin_db, services).file_text("submissions", file_row) == sent
    async with httpx.AsyncClient(base_url=claims.base_url, headers=read) as client:
        assert (await client.get(f"/v1/claims/{claim_id}")).status_code == 200, "the service reads the new version"
