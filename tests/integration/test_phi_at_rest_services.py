"""PHI at rest and the PHI access log in notifications, denials and remittance, against real processes, Kafka
and Postgres.

Notifications: a patient's name, mailing address and email, each statement's document and text, and every PDF
(statement and print batch) are sealed in the database, yet the statement API, its PDF and text, the print
batch and the email sender show them in plaintext; rows stored before encryption are read, then sealed by
`claimflow phi encrypt-existing --service notifications` and moved to a new data key by `rotate-data-key`.

Every service: a read of PHI over HTTP writes a row its auditors see at `GET /v1/phi-access` (others get 403),
and the service's own role can neither update nor delete it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from typing import Any

import asyncpg
import httpx
import pypdf
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.services import ServiceProcess
from services.notifications.models import print_batches, statement_patients, statements
from services.notifications.statement_repository import StatementRepository, is_sealed
from shared.db import create_engine, create_sessionmaker
from shared.events.catalog import Address, ClaimDeniedV1, Person
from shared.phi.crypto import key_version
from shared.phi.keys import PhiSettings, configure_keyring
from tests.integration.test_statement_page import adjudicated_visit
from tests.support.cli_process import claimflow
from tests.support.events import publish
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.integration
STEM = "QXSVCPHI"
FOUND = re.compile(STEM, re.IGNORECASE)
NOTIFY = ("notifications:read", "notifications:write")
LINK_SECRET = "phi-at-rest-statement-link-secret-0123456789"
PAPER = Person(
    last_name=f"{STEM}PAPERLAST",
    first_name=f"{STEM}PAPERFIRST",
    address=Address(line1=f"12 {STEM} PAPER ROAD", city="SPRINGFIELD", state="IL", postal_code="62704"),
)
EMAILED = Person(
    last_name=f"{STEM}MAILLAST",
    first_name=f"{STEM}MAILFIRST",
    address=Address(line1=f"34 {STEM} MAIL ROAD", city="SPRINGFIELD", state="IL", postal_code="62704"),
)
EMAIL = f"{STEM.lower()}.patient@example.test"


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


async def raw_rows(admin_db: asyncpg.Connection, schema: str, table: str, tenant: str) -> list[asyncpg.Record]:
    return list(await admin_db.fetch(f"SELECT * FROM {schema}.{table} WHERE tenant_id = $1", tenant))  # noqa: S608


def stem_in(rows: list[asyncpg.Record]) -> list[str]:
    """Columns holding the stem in plaintext: text and JSON as stored, a PDF as its text, other bytea as bytes."""
    seen = []
    for number, row in enumerate(rows):
        for column, value in row.items():
            if isinstance(value, bytes):
                shown = pdf_text(value) if value.startswith(b"%PDF") else value.decode("latin-1")
            else:
                shown = str(value)
            if FOUND.search(shown):
                seen.append(f"row {number} {column}")
    return seen


async def heard(admin_db: asyncpg.Connection, tenant: str, visits: int) -> bool:
    """Notifications has every event of `visits` adjudicated visits (from three topics, in any order)."""
    counts = []
    for table in ("statement_encounters", "statement_claims", "statement_adjudications", "statement_patients"):
        query = f"SELECT count(*) FROM notifications.{table} WHERE tenant_id = $1"  # noqa: S608
        if table == "statement_patients":
            query += " AND mailing_phi IS NOT NULL"
        counts.append(await admin_db.fetchval(query, tenant))
    return counts == [visits] * 4


async def assert_access_log(
    pipeline: Pipeline, process: ServiceProcess, schema: str, tenant: str, record_type: str, record_id: str
) -> None:
    """The read is logged for auditors only, and the service's role cannot rewrite the log."""
    reader = pipeline.auth(tenant, f"{schema}:read")
    async with httpx.AsyncClient(base_url=process.base_url, headers=reader) as client:
        assert (await client.get("/v1/phi-access")).status_code == 403, "refused without the auditor scope"
    async with httpx.AsyncClient(base_url=process.base_url, headers=pipeline.auth(tenant, "auditor")) as client:
        answer = await client.get("/v1/phi-access", params={"record_type": record_type, "record_id": record_id})
        assert answer.status_code == 200, answer.text
        (entry, *_) = answer.json()["items"]
        assert (entry["subject"], entry["purpose"], entry["record_id"]) == ("test-suite", "payment", record_id)
    role = await asyncpg.connect(pipeline.role_url(schema).replace("postgresql+asyncpg", "postgresql"))
    try:
        for statement in (
            f"UPDATE {schema}.phi_access SET purpose = 'x' WHERE tenant_id = $1",  # noqa: S608
            f"DELETE FROM {schema}.phi_access WHERE tenant_id = $1",  # noqa: S608
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await role.execute(statement, tenant)
    finally:
        await role.close()


async def test_statements_are_sealed_at_rest_and_shown_in_plaintext(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, paper, emailed = new_tenant(), uuid.uuid4(), uuid.uuid4()
    with smtp_server() as mailbox:
        notifications = await services.start(
            "notifications", **mailbox.notifications_env(LINK_SECRET, CLAIMFLOW_NOTIFICATIONS_RUN_STATEMENTS="false")
        )
        async with httpx.AsyncClient(
            base_url=notifications.base_url, headers=services.auth(tenant, *NOTIFY), timeout=60
        ) as api:
            chosen = {"delivery": "email", "email": EMAIL}
            assert (await api.put(f"/v1/patients/{emailed}/statement-preferences", json=chosen)).status_code == 200
            await adjudicated_visit(services, tenant, paper, PAPER)
            await adjudicated_visit(services, tenant, emailed, EMAILED)

            await eventually(
                lambda: heard(admin_db, tenant, 2), timeout_s=60, what="both visits heard, claimed and adjudicated"
            )
            run = (await api.post("/v1/statement-runs", json={})).json()
            assert len(run["statement_ids"]) == 2, run
            assert (run["deliveries"], run["emails_sent"]) == ({"printed": 1, "pending": 1}, 1), run
            (message,) = mailbox.to(EMAIL)
            assert "/statements/" in message.get_content()

            contacts = await raw_rows(admin_db, "notifications", "statement_patients", tenant)
            made = await raw_rows(admin_db, "notifications", "statements", tenant)
            batches = await raw_rows(admin_db, "notifications", "print_batches", tenant)
            assert (len(contacts), len(made), len(batches)) == (2, 2, 1)
            assert stem_in(contacts) + stem_in(made) + stem_in(batches) == []
            assert all(row["name"] is None and row["email"] is None for row in contacts)
            assert all(row["document"] is None and row["text"] is None and is_sealed(row["pdf"]) for row in made)
            assert is_sealed(batches[0]["pdf"])

            statement_of = {row["patient_id"]: row["id"] for row in made}
            paper_id, emailed_id = statement_of[paper], statement_of[emailed]
            text = (await api.get(f"/v1/statements/{paper_id}/text")).text
            assert f"{STEM}PAPERFIRST {STEM}PAPERLAST" in text and f"12 {STEM} PAPER ROAD" in text
            pdf = (await api.get(f"/v1/statements/{emailed_id}/pdf")).content
            assert pdf.startswith(b"%PDF") and f"34 {STEM} MAIL ROAD" in pdf_text(pdf)
            batch = (await api.get(f"/v1/print-batches/{run['print_batch_id']}/pdf")).content
            assert f"{STEM}PAPERLAST" in pdf_text(batch) and f"{STEM}MAILLAST" not in pdf_text(batch)
            shown = (await api.get(f"/v1/statements/{paper_id}")).json()
            assert (shown["patient_owes_cents"], shown["balance_cents"]) == (3766, 3766)
            preferences = (await api.get(f"/v1/patients/{emailed}/statement-preferences")).json()
            assert (preferences["email"], preferences["has_mailing_address"]) == (EMAIL, True)
    await assert_access_log(services, notifications, "notifications", tenant, "statement", str(paper_id))
    await assert_access_log(services, notifications, "notifications", tenant, "print-batch", run["print_batch_id"])


async def _legacy_statement(engine: AsyncEngine, tenant: str, patient_id: uuid.UUID, copy_of: uuid.UUID) -> uuid.UUID:
    """A contact and a statement as stored before notifications 0006: plaintext name, email, document, text, PDF."""
    async with create_sessionmaker(engine)() as session, session.begin():
        repository = StatementRepository(session, tenant)
        record = await repository.get(copy_of)
        text, pdf = await repository.rendering(copy_of, "text"), await repository.rendering(copy_of, "pdf")
        assert record is not None and isinstance(text, str) and isinstance(pdf, bytes)
        statement_id = uuid.uuid4()
        await session.execute(
            sa.insert(statement_patients).values(
                tenant_id=tenant,
                patient_id=patient_id,
                name=f"{STEM} LEGACY",
                address_lines=[f"56 {STEM} OLD ROAD", "SPRINGFIELD, IL 62704"],
                delivery="email",
                email=f"{STEM.lower()}.legacy@example.test",
            )
        )
        await session.execute(
            sa.insert(statements).values(
                id=statement_id,
                tenant_id=tenant,
                patient_id=patient_id,
                number=f"ST-LEGACY-{statement_id.hex[:8]}",
                cycle=1,
                stage=record.stage,
                statement_date=record.statement_date,
                due_date=record.due_date,
                balance_cents=record.balance_cents,
                amount_due_cents=record.amount_due_cents,
                currency=record.currency,
                document=record.document,
                text=text.replace(f"{STEM}PAPERLAST", f"{STEM}LEGACYLAST"),
                pdf=pdf,
                delivery="paper",
                delivery_status="printed",
            )
        )
        await session.execute(
            sa.insert(print_batches).values(
                id=uuid.uuid4(), tenant_id=tenant, run_on=dt.date.today(), statement_count=1, pdf=pdf
            )
        )
    return statement_id


async def test_the_phi_commands_seal_and_rotate_notifications_rows(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """Rows stored before 0006 read in plaintext; `rotate-data-key` re-seals every sealed column of the service
    (contacts, documents, PDFs) with a new key, retires the old one and leaves plaintext rows alone;
    `encrypt-existing` then seals those; the API reads them all the same throughout."""
    tenant, paper, legacy_patient = new_tenant(), uuid.uuid4(), uuid.uuid4()
    env = {
        "CLAIMFLOW_ENVIRONMENT": "test",
        "CLAIMFLOW_PHI_KEKS": f"local:{services.secrets.phi_kek}",
        "CLAIMFLOW_PHI_KEY_CACHE_S": "0",
    }
    configure_keyring(PhiSettings(environment="test", phi_keks=env["CLAIMFLOW_PHI_KEKS"], phi_key_cache_s=0))
    notifications = await services.start("notifications", CLAIMFLOW_NOTIFICATIONS_RUN_STATEMENTS="false")
    engine = create_engine(services.role_url("notifications"), pool_size=2)
    try:
        async with httpx.AsyncClient(
            base_url=notifications.base_url, headers=services.auth(tenant, *NOTIFY), timeout=60
        ) as api:
            await adjudicated_visit(services, tenant, paper, PAPER)
            await eventually(lambda: heard(admin_db, tenant, 1), timeout_s=60, what="the visit heard")
            (sealed_id,) = (await api.post("/v1/statement-runs", json={})).json()["statement_ids"]
            legacy_id = await _legacy_statement(engine, tenant, legacy_patient, uuid.UUID(sealed_id))
            plaintext = await raw_rows(admin_db, "notifications", "statements", tenant)
            assert any(row["phi"] is None and STEM in row["text"] for row in plaintext), "stored in plaintext"

            async def shown() -> tuple[str, str, dict[str, Any]]:
                text = (await api.get(f"/v1/statements/{legacy_id}/text")).text
                pdf = pdf_text((await api.get(f"/v1/statements/{legacy_id}/pdf")).content)
                preferences = (await api.get(f"/v1/patients/{legacy_patient}/statement-preferences")).json()
                return text, pdf, preferences

            before = await shown()
            assert f"{STEM}LEGACYLAST" in before[0] and f"{STEM}PAPERLAST" in before[1]
            assert before[2]["email"] == f"{STEM.lower()}.legacy@example.test"

            url = ("--service", "notifications", "--database-url", services.role_url("notifications"))
            rotated = await claimflow("phi", "rotate-data-key", "--tenant", tenant, *url, env=env)
            assert "data key version 2, " in rotated and "retired versions 1" in rotated, rotated
            tables = ("statement_patients", "statements", "print_batches")
            assert all([stem_in(await raw_rows(admin_db, "notifications", t, tenant)) for t in tables]), (
                "rotation re-seals sealed values only: the plaintext rows wait for encrypt-existing"
            )
            assert await shown() == before, "the running service picks up the new key"

            assert " rows sealed" in await claimflow("phi", "encrypt-existing", *url, env=env)
            assert [stem_in(await raw_rows(admin_db, "notifications", t, tenant)) for t in tables] == [[], [], []]
            contacts = await raw_rows(admin_db, "notifications", "statement_patients", tenant)
            made = await raw_rows(admin_db, "notifications", "statements", tenant)
            batches = await raw_rows(admin_db, "notifications", "print_batches", tenant)
            versions = {key_version(v) for row in contacts for v in (row["mailing_phi"], row["email_phi"]) if v}
            versions |= {key_version(v) for row in made for v in (row["phi"], row["pdf"])}
            versions |= {key_version(row["pdf"]) for row in batches}
            assert versions == {2}, "every value sealed with the new key"
            assert await shown() == before
    finally:
        await engine.dispose()


async def test_reads_of_denial_cases_are_logged_for_auditors(services: Pipeline, admin_db: asyncpg.Connection) -> None:
    tenant = new_tenant()
    denials = await services.start("denials")
    denial = ClaimDeniedV1(
        claim_id=uuid.uuid4(),
        claim_control_number=f"PHI{uuid.uuid4().hex[:9].upper()}",
        payer_id="SANDBOX",
        trace_number="TRACE-PHI-AUDIT",
        denial="full",
        denied_cents=12_500,
        carcs=["50"],
        rarcs=["N115"],
    )
    await publish(services.kafka, tenant, [denial])
    headers = services.auth(tenant, "denials:read", "denials:write")
    async with httpx.AsyncClient(base_url=denials.base_url, headers=headers, timeout=60) as api:

        async def opened() -> list[dict[str, Any]]:
            cases: list[dict[str, Any]] = (await api.get("/v1/denial-cases")).json()
            return cases

        (case,) = await eventually(opened, timeout_s=60, what="the denial case opened")
        assert (await api.get(f"/v1/denial-cases/{case['id']}")).status_code == 200
    await assert_access_log(services, denials, "denials", tenant, "denial-case", case["id"])


async def test_reads_of_patient_accounts_are_logged_for_auditors(services: Pipeline) -> None:
    tenant, patient_id = new_tenant(), uuid.uuid4()
    remittance = await services.start("remittance")
    headers = services.auth(tenant, "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=headers, timeout=60) as api:
        read = await api.get(f"/v1/accounts/{patient_id}")
        assert read.status_code == 200, read.text
    await assert_access_log(services, remittance, "remittance", tenant, "patient-account", str(patient_id))
