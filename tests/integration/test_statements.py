"""Patient statements through the whole loop, in real processes with real Kafka, Postgres and SMTP.

Encounters go in over HTTP; the sandbox payer answers with 835s that leave the patient a coinsurance
balance (and, for the patient with a secondary coverage, a secondary claim still with a payer).
Notifications builds each patient's statement ledger from the events alone; statement runs moved
through time with `as_of` show one statement per cycle, none while insurance is pending, dunning at
30 days past due, a payment plan replacing dunning with an installment reminder, and no statement
after the patient paid on the statement page (a payment remittance posts from the page's event).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pypdf
import pytest

from tests.integration.test_end_to_end import ADDRESS, answer, move_answers, register
from tests.support.file_drop import file_drop, start_billing_loop
from tests.support.intake_builders import registered_encounter as encounter
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.smtp import Mailbox, smtp_server

pytestmark = pytest.mark.integration
WRITE = ("patients:write", "patients:read", "providers:write", "payers:write", "encounters:write", "encounters:read")
NOTIFY = ("notifications:read", "notifications:write")
REMIT = ("remittance:read", "remittance:write")
LINK_SECRET = "integration-test-statement-link-secret-0123456789"
EMAIL = "patient.one@example.test"
LINK = re.compile(r"(/statements/[A-Za-z0-9_.-]+)")


def notifications_env(mailbox: Mailbox, **extra: str) -> dict[str, str]:
    return mailbox.notifications_env(
        LINK_SECRET,
        CLAIMFLOW_NOTIFICATIONS_STATEMENT_ORGANIZATION="SYNTHETIC CLINIC",
        CLAIMFLOW_NOTIFICATIONS_STATEMENT_PAGE_BASE_URL="https://pay.example.test",
        **extra,
    )


def money_cents(text: str) -> int:
    sign = -1 if text.strip().startswith("-") else 1
    return sign * int(re.sub(r"[^0-9]", "", text))


async def test_statements_follow_the_balance_through_dunning_a_plan_and_a_page_payment(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant = new_tenant()
    drop = file_drop(tmp_path)
    folder, sandbox_folder = drop.folder, drop.sandbox_folder
    with smtp_server() as mailbox:
        more = {"notifications": notifications_env(mailbox, CLAIMFLOW_NOTIFICATIONS_RUN_STATEMENTS="false")}
        started = await start_billing_loop(services, tenant, drop, more)
        intake, remittance, notifications = started["intake"], started["remittance"], started["notifications"]
        day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
        async with httpx.AsyncClient(
            base_url=intake.base_url, headers=services.auth(tenant, *WRITE), timeout=60
        ) as client:
            await register(client)
            third = {"external_patient_id": "MRN-STMT-3", "last_name": "ROE", "first_name": "ALEX",
                     "birth_date": "1975-05-05", "sex": "M", "address": ADDRESS}  # fmt: skip
            created = await client.post("/v1/patients", json=third)
            assert created.status_code == 201, created.text
            coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": "SYN0000031"}
            assert (
                await client.post(f"/v1/patients/{created.json()['id']}/coverages", json=coverage)
            ).status_code == 201
            for body in (
                encounter("STMT-1", "MRN-E2E-1", day, "99213", 12500),  # coinsurance: the patient owes 20.00
                encounter("STMT-2", "MRN-E2E-2", day, "99213", 15000),  # coinsurance, but a secondary comes next
                encounter("STMT-3", "MRN-STMT-3", day, "99213", 12500),  # coinsurance, paper statements
            ):
                response = await client.post("/v1/encounters", json=body)
                assert response.status_code == 201 and response.json()["unresolved"] == [], response.text
        async with httpx.AsyncClient(
            base_url=intake.base_url, headers=services.auth(tenant, *WRITE), timeout=60
        ) as client:  # the MRN is sealed at rest: ask intake
            patient = {
                p["external_patient_id"]: uuid.UUID(p["id"])
                for p in (await client.get("/v1/patients", params={"limit": 10})).json()["items"]
            }
        email_patient, secondary_patient, paper_patient = (
            patient["MRN-E2E-1"], patient["MRN-E2E-2"], patient["MRN-STMT-3"]
        )  # fmt: skip

        notify = httpx.AsyncClient(base_url=notifications.base_url, headers=services.auth(tenant, *NOTIFY), timeout=60)
        remit = httpx.AsyncClient(base_url=remittance.base_url, headers=services.auth(tenant, *REMIT), timeout=60)
        async with notify, remit:
            preference = await notify.put(
                f"/v1/patients/{email_patient}/statement-preferences", json={"delivery": "email", "email": EMAIL}
            )
            assert preference.status_code == 200, preference.text
            assert preference.json()["delivery"] == "email"

            async def claims_in(*states: str) -> list[Any]:
                rows = await admin_db.fetch(
                    "SELECT state FROM claims.claims WHERE tenant_id = $1 AND primary_claim_id IS NULL", tenant
                )
                return rows if len(rows) == 3 and all(r["state"] in states for r in rows) else []

            await eventually(lambda: claims_in("submitted"), timeout_s=60, what="three claims submitted")
            answer(sandbox_folder, folder / "outbound")
            move_answers(sandbox_folder, folder / "inbound", (".999", ".277CA"))
            await eventually(lambda: claims_in("accepted"), timeout_s=60, what="the claims accepted")

            async def run(as_of: dt.date) -> dict[str, Any]:
                response = await notify.post("/v1/statement-runs", json={"as_of": as_of.isoformat()})
                assert response.status_code == 201, response.text
                result: dict[str, Any] = response.json()
                return result

            today = dt.date.today()
            assert (await run(today))["statement_ids"] == []  # adjudicated by nobody yet: nothing owed

            async def remittance_knows_them() -> bool:
                known = "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1"
                return bool(await admin_db.fetchval(known, tenant) == 3)

            await eventually(remittance_knows_them, timeout_s=60, what="remittance to take the claims")
            assert move_answers(sandbox_folder, folder / "inbound", (".835",)) >= 1

            async def adjudications_heard() -> bool:
                heard = "SELECT count(*) FROM notifications.statement_adjudications WHERE tenant_id = $1"
                return bool(await admin_db.fetchval(heard, tenant) == 3)

            await eventually(adjudications_heard, timeout_s=60, what="notifications to hear the three payments")

            # --- first run: one statement each for the two settled patients; none while the secondary is pending
            first = await run(today)
            assert len(first["statement_ids"]) == 2, first
            assert first["stages"] == {"statement": 2}
            assert first["deliveries"] == {"pending": 1, "printed": 1} and first["emails_sent"] == 1
            assert first["print_batch_id"] is not None
            assert (await notify.get("/v1/statements", params={"patient_id": str(secondary_patient)})).json() == []

            (emailed,) = (await notify.get("/v1/statements", params={"patient_id": str(email_patient)})).json()
            account = (await remit.get(f"/v1/accounts/{email_patient}")).json()
            assert emailed["balance_cents"] == account["balance_cents"] == 2000  # 20% coinsurance of 100.00 allowed
            line = emailed["lines"][0]
            assert line["charge_cents"] == 12500
            assert (
                line["charge_cents"]
                == line["insurance_paid_cents"] + line["insurance_adjusted_cents"] + line["patient_owes_cents"]
            )
            assert emailed["delivery"] == "email"

            await eventually(lambda: _async(len(mailbox.to(EMAIL)) == 1), what="the statement email")
            body = mailbox.to(EMAIL)[0].get_content()
            assert "https://pay.example.test/statements/" in body
            assert "$" not in body and "20.00" not in body and "DOE" not in body  # a notice and a link, no details

            (printed,) = (await notify.get("/v1/statements", params={"patient_id": str(paper_patient)})).json()
            assert printed["delivery_status"] == "printed" and printed["print_batch_id"] == first["print_batch_id"]
            batch = await notify.get(f"/v1/print-batches/{first['print_batch_id']}/pdf")
            assert batch.status_code == 200 and batch.headers["content-type"] == "application/pdf"
            batch_text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(batch.content)).pages)
            assert printed["number"] in batch_text and "ALEX ROE" in batch_text and "SYN0000031" not in batch_text
            assert emailed["number"] not in batch_text
            text = (await notify.get(f"/v1/statements/{emailed['id']}/text")).text
            assert "$20.00" in text and "SYN0000011" not in text

            # --- the same cycle again, and the next day: nothing new
            assert (await run(today))["statement_ids"] == []
            assert (await run(today + dt.timedelta(days=1)))["statement_ids"] == []
            count = "SELECT count(*) FROM notifications.statements WHERE tenant_id = $1 AND patient_id = $2"
            assert await admin_db.fetchval(count, tenant, email_patient) == 1

            # --- 60 days on, 30 past due: the first dunning notice
            dunning = await run(today + dt.timedelta(days=60))
            assert dunning["stages"] == {"past_due_30": 2}, dunning
            await eventually(lambda: _async(len(mailbox.to(EMAIL)) == 2), what="the dunning email")

            # --- a payment plan replaces dunning with installment reminders
            plan = await remit.post(
                f"/v1/accounts/{email_patient}/payment-plans",
                json={"installments": 2, "first_due": (today + dt.timedelta(days=80)).isoformat()},
            )
            assert plan.status_code == 201, plan.text
            plans = "SELECT count(*) FROM notifications.statement_payment_plans WHERE tenant_id = $1"
            await eventually(lambda: _fetch_equals(admin_db, plans, tenant, 1), what="the plan to reach notifications")
            later = await run(today + dt.timedelta(days=95))
            stages = {s["patient_id"]: s["stage"] for s in await _statements(notify, later["statement_ids"])}
            assert stages == {str(email_patient): "installment_reminder", str(paper_patient): "past_due_60"}
            reminder = await _latest(notify, email_patient)
            assert reminder["amount_due_cents"] == 1000 and reminder["balance_cents"] == 2000

            # --- the patient pays the balance on the statement page (twice, by a double submit)
            await eventually(lambda: _async(len(mailbox.to(EMAIL)) == 3), what="the reminder email")
            path = LINK.search(mailbox.to(EMAIL)[-1].get_content())
            assert path is not None
            page_url = path.group(1)
            async with httpx.AsyncClient(base_url=notifications.base_url, timeout=60) as browser:
                page = await browser.get(page_url)
                assert page.status_code == 200 and "$20.00" in page.text
                payment_id = re.search(r'name="payment_id" value="([0-9a-f-]+)"', page.text)
                assert payment_id is not None
                form = {"payment_id": payment_id.group(1), "amount": "20.00", "method": "card"}
                for _ in range(2):
                    paid = await browser.post(f"{page_url}/payments", data=form)
                    assert paid.status_code == 303
                assert "Your payment of $20.00 was recorded" in (await browser.get(paid.headers["location"])).text
                tampered = page_url[:-3] + ("AAA" if not page_url.endswith("AAA") else "BBB")
                assert (await browser.get(tampered)).status_code == 403

            async def settled() -> bool:
                return bool((await remit.get(f"/v1/accounts/{email_patient}")).json()["balance_cents"] == 0)

            await eventually(settled, timeout_s=60, what="remittance to post the page payment")
            payments = "SELECT count(*) FROM notifications.statement_patient_payments WHERE tenant_id = $1"
            await eventually(
                lambda: _fetch_equals(admin_db, payments, tenant, 1), what="the payment back in notifications"
            )
            posted = (await remit.get(f"/v1/accounts/{email_patient}")).json()["entries"]
            assert [e["amount_cents"] for e in posted if e["kind"] == "patient_payment"] == [-2000]  # once

            # --- paid: dunning stops for this patient; the paper patient, unpaid, goes on
            last = await run(today + dt.timedelta(days=130))
            stages = {s["patient_id"]: s["stage"] for s in await _statements(notify, last["statement_ids"])}
            assert stages == {str(paper_patient): "past_due_90"}


async def _async(value: bool) -> bool:
    return value


async def _fetch_equals(db: asyncpg.Connection, query: str, tenant: str, expected: int) -> bool:
    return bool(await db.fetchval(query, tenant) == expected)


async def _statements(client: httpx.AsyncClient, ids: list[str]) -> list[dict[str, Any]]:
    return [(await client.get(f"/v1/statements/{statement_id}")).json() for statement_id in ids]


async def _latest(client: httpx.AsyncClient, patient_id: uuid.UUID) -> dict[str, Any]:
    statements: list[dict[str, Any]] = (
        await client.get("/v1/statements", params={"patient_id": str(patient_id)})
    ).json()
    return statements[-1]
