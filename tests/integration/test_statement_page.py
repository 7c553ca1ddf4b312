"""The statement page in a real headless browser (Playwright driving Debian's Chromium, JavaScript off):
the signed link opens it, its amounts match the API to the cent, a payment recorded on it goes to
remittance as one `patient-payment-submitted` event, and an expired or tampered link is refused.

The notifications service runs alone here; the events it builds the statement from are produced
straight to Kafka, and its own periodic statement run (not the HTTP one) makes the statement.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notifications.domain.statement_links import sign_link
from shared.events.catalog import (
    Address,
    ClaimSubmittedV1,
    CodedServiceLine,
    EncounterCodedV1,
    EncounterPhi,
    EventPayload,
    PaymentReceivedV1,
    Person,
    SubmittedClaimLine,
)
from shared.events.envelope import EventEnvelope, from_kafka, to_kafka
from shared.messaging.topics import PATIENT_ACCOUNT
from tests.integration.test_end_to_end import ADDRESS
from tests.support.pipeline import Pipeline, end_offsets, eventually, free_port, new_tenant, produce, read_from
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.integration
CHROMIUM = os.environ.get("CLAIMFLOW_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LINK_SECRET = "browser-test-statement-link-secret-0123456789"


async def publish(pipeline: Pipeline, tenant: str, subject: str, payload: EventPayload) -> None:
    envelope = EventEnvelope.new(source="/claimflow/test", subject=subject, tenant=tenant, payload=payload)
    key, value, headers = to_kafka(envelope)
    await produce(pipeline.kafka, envelope.topic, key=key, value=value, headers=headers)


DOE = Person(last_name="DOE", first_name="JO", address=Address(**ADDRESS))


async def adjudicated_visit(pipeline: Pipeline, tenant: str, patient_id: uuid.UUID, patient: Person = DOE) -> None:
    """What intake, claims and remittance would say about one visit: 150.00 charged, 100.00 paid by the
    plan, 12.34 contractual, 37.66 left to the patient."""
    encounter_id, claim_id, day = uuid.uuid4(), uuid.uuid4(), dt.date.today() - dt.timedelta(days=20)
    encounter = EncounterCodedV1(
        encounter_id=encounter_id,
        external_encounter_id=f"PAGE-{encounter_id.hex[:8]}",
        claim_type="professional",
        patient_id=patient_id,
        payer_id="SANDBOX",
        billing_provider_npi="1234567893",
        place_of_service="11",
        service_date_from=day,
        service_date_to=day,
        diagnosis_codes=["J06.9"],
        lines=[CodedServiceLine(line_number=1, procedure_code="99214", units=1, charge_cents=15000, service_date=day)],
        phi=EncounterPhi(patient=patient),
    )
    await publish(pipeline, tenant, str(encounter_id), encounter)
    claim = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=encounter_id,
        claim_control_number=f"PG{claim_id.hex[:10].upper()}",
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=15000,
        lines=[
            SubmittedClaimLine(
                line_number=1, line_control_number="1", procedure_code="99214", units=1, charge_cents=15000
            )
        ],
        interchange_control_number="000000001",
        submitted_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=18),
        patient_id=patient_id,
    )
    await publish(pipeline, tenant, str(claim_id), claim)
    payment = PaymentReceivedV1(
        payment_id=uuid.uuid4(),
        claim_id=claim_id,
        claim_control_number=claim.claim_control_number,
        payer_id="SANDBOX",
        trace_number="TRACE-PAGE-1",
        claim_status_code="1",
        charge_cents=15000,
        paid_cents=10000,
        patient_responsibility_cents=3766,
        next_responsible="patient",
        paid_date=dt.date.today() - dt.timedelta(days=2),
        patient_id=patient_id,
    )
    await publish(pipeline, tenant, str(claim_id), payment)


def cents(text: str) -> int:
    digits = "".join(ch for ch in text if ch.isdigit())
    return -int(digits) if text.strip().startswith("-") else int(digits)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (set CLAIMFLOW_CHROMIUM)")
async def test_the_statement_page_in_a_browser(services: Pipeline) -> None:
    from playwright.async_api import async_playwright

    tenant, patient_id = new_tenant(), uuid.uuid4()
    with smtp_server() as mailbox:
        notifications = await services.start(
            "notifications",
            **mailbox.notifications_env(
                LINK_SECRET,
                CLAIMFLOW_NOTIFICATIONS_STATEMENT_INTERVAL_S="0.5",
                CLAIMFLOW_NOTIFICATIONS_STATEMENT_ORGANIZATION="SYNTHETIC CLINIC",
            ),
        )
        await adjudicated_visit(services, tenant, patient_id)
        headers = services.auth(tenant, "notifications:read", "notifications:write")
        async with httpx.AsyncClient(base_url=notifications.base_url, headers=headers, timeout=60) as api:

            async def statement() -> dict[str, Any] | None:
                found: list[dict[str, Any]] = (
                    await api.get("/v1/statements", params={"patient_id": str(patient_id)})
                ).json()
                return found[0] if found else None

            issued = await eventually(statement, timeout_s=60, what="the periodic run to make the statement")
            assert issued["delivery_status"] == "printed"  # no preference: paper, in the run's print batch
            other_tenant = services.auth(new_tenant(), "notifications:read", "notifications:write")
            assert (await api.get(f"/v1/statements/{issued['id']}", headers=other_tenant)).status_code == 404
            assert (await api.get(f"/v1/statements/{issued['id']}/pdf", headers=other_tenant)).status_code == 404
            read_only = services.auth(tenant, "notifications:read")
            assert (await api.post("/v1/statement-runs", json={}, headers=read_only)).status_code == 403
            anonymous = httpx.AsyncClient(base_url=notifications.base_url, timeout=60)
            async with anonymous:
                assert (await anonymous.get(f"/v1/statements/{issued['id']}")).status_code == 401
            link = await api.post(f"/v1/statements/{issued['id']}/links")
            assert link.status_code == 201
            path = httpx.URL(link.json()["url"]).path
            url = notifications.base_url + path
            expired = sign_link(
                LINK_SECRET.encode(), uuid.UUID(issued["id"]), dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
            start = await end_offsets(services.kafka, PATIENT_ACCOUNT.name)

            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                try:
                    context = await browser.new_context(java_script_enabled=False)
                    page = await context.new_page()
                    response = await page.goto(url)
                    assert response is not None and response.status == 200
                    assert await page.get_attribute("html", "lang") == "en"
                    assert await page.title() == f"Statement {issued['number']} - SYNTHETIC CLINIC"
                    assert await page.text_content("#statement-number") == issued["number"]
                    for selector, key in (
                        ("#total-charges", "charges_cents"),
                        ("#total-insurance-paid", "insurance_paid_cents"),
                        ("#total-insurance-adjusted", "insurance_adjusted_cents"),
                        ("#total-patient-owes", "patient_owes_cents"),
                        ("#balance", "balance_cents"),
                        ("#amount-due", "amount_due_cents"),
                    ):
                        assert cents(await page.inner_text(selector)) == issued[key], selector
                    assert (issued["charges_cents"], issued["insurance_paid_cents"], issued["balance_cents"]) == (
                        15000, 10000, 3766,
                    )  # fmt: skip
                    rows = page.locator("tr.ledger-line")
                    assert await rows.count() == len(issued["lines"]) == 1
                    cells = [await cell.inner_text() for cell in await rows.nth(0).locator("td").all()]
                    line = issued["lines"][0]
                    assert [cents(c) for c in cells[3:]] == [
                        line["charge_cents"], line["insurance_paid_cents"], line["insurance_adjusted_cents"],
                        line["patient_owes_cents"],
                    ]  # fmt: skip

                    # pay part of it with the form (no JavaScript: a plain POST, then a redirect back)
                    await page.get_by_label("Amount in USD").fill("12.34")
                    await page.get_by_label("Pay by").select_option("ach")
                    await page.get_by_role("button", name="Pay").click()
                    await page.wait_for_selector("#payment-recorded")
                    assert "$12.34" in await page.inner_text("#payment-recorded")
                    assert "$12.34" in await page.inner_text("#submitted")

                    # a bad amount is explained, not a 500
                    await page.get_by_label("Amount in USD").fill("1000000")
                    await page.get_by_role("button", name="Pay").click()
                    assert "at most the balance" in await page.inner_text("#payment-error")

                    for refused, status, words in (
                        (path[:-2] + ("xx" if not path.endswith("xx") else "yy"), 403, "not valid"),
                        (path.replace(issued["id"].replace("-", ""), uuid.uuid4().hex), 403, "not valid"),
                        (f"/statements/{expired}", 410, "expired"),
                    ):
                        response = await page.goto(notifications.base_url + refused)
                        assert response is not None and response.status == status, refused
                        assert words in await page.inner_text("#refusal")
                        assert await page.locator("#ledger").count() == 0
                finally:
                    await browser.close()

            auditor = services.auth(tenant, "auditor")
            log = await api.get("/v1/phi-access", params={"record_id": issued["id"]}, headers=auditor)
            assert log.status_code == 200, log.text
            page_reads = [entry for entry in log.json()["items"] if entry["route"] == "GET /statements/{token}"]
            posted_reads = [
                entry for entry in log.json()["items"] if entry["route"] == "POST /statements/{token}/payments"
            ]
            assert (len(page_reads), len(posted_reads)) == (2, 1), (
                "two page views and the re-shown form; refusals read nothing"
            )
            assert {(entry["subject"], entry["purpose"]) for entry in page_reads + posted_reads} == {
                ("statement-link", "patient access")
            }

        async def submitted_events() -> list[dict[str, Any]]:
            records = await read_from(services.kafka, start)
            return [
                envelope.data
                for envelope in (from_kafka(r.key, r.value, list(r.headers)) for r in records)
                if envelope.type == "patient-payment-submitted.v1" and envelope.tenant == tenant
            ]

        submitted = await eventually(submitted_events, what="the page payment on the patient-account topic")
        assert len(submitted) == 1
        assert submitted[0]["amount_cents"] == 1234 and submitted[0]["method"] == "ach"
        assert submitted[0]["patient_id"] == str(patient_id) and submitted[0]["statement_id"] == issued["id"]


async def test_email_statements_wait_while_the_smtp_server_is_down(services: Pipeline) -> None:
    tenant, patient_id, port = new_tenant(), uuid.uuid4(), free_port()
    notifications = await services.start(
        "notifications",
        CLAIMFLOW_NOTIFICATIONS_SMTP_HOST="127.0.0.1",
        CLAIMFLOW_NOTIFICATIONS_SMTP_PORT=str(port),  # nothing listens there yet
        CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET=LINK_SECRET,
        CLAIMFLOW_NOTIFICATIONS_RUN_STATEMENTS="false",
    )
    headers = services.auth(tenant, "notifications:read", "notifications:write")
    async with httpx.AsyncClient(base_url=notifications.base_url, headers=headers, timeout=60) as api:
        chosen = {"delivery": "email", "email": "jo.doe@example.test"}
        assert (await api.put(f"/v1/patients/{patient_id}/statement-preferences", json=chosen)).status_code == 200
        await adjudicated_visit(services, tenant, patient_id)

        async def statement_run() -> dict[str, Any] | None:
            run: dict[str, Any] = (await api.post("/v1/statement-runs", json={})).json()
            return run if run["statement_ids"] else None

        first = await eventually(statement_run, timeout_s=60, what="a statement once the visit is heard")
        assert first["deliveries"] == {"pending": 1} and first["emails_sent"] == 0
        (statement,) = (await api.get("/v1/statements", params={"patient_id": str(patient_id)})).json()
        assert statement["delivery_status"] == "pending"
        with smtp_server(port) as mailbox:
            again = (await api.post("/v1/statement-runs", json={})).json()
            assert again["statement_ids"] == [] and again["emails_sent"] == 1
            (message,) = mailbox.to("jo.doe@example.test")
            assert "/statements/" in message.get_content()
        (statement,) = (await api.get("/v1/statements", params={"patient_id": str(patient_id)})).json()
        assert statement["delivery_status"] == "sent" and statement["delivered_at"] is not None
