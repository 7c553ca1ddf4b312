"""Money integrity through the real remittance process, Kafka and Postgres: a payment re-sent under a new
trace number is held, not posted; an overpaid claim opens a refund; patient accounts keep one currency and
sane dates; the suspense queue pages and refuses a match that does not fit; later payers net against the
primary (COB)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_SUBMITTED
from shared.patient_match import MemberDigest
from shared.settings import ServiceSettings
from tests.support.ledger import ledger_totals
from tests.support.pipeline import Pipeline, eventually, new_tenant, produce
from tests.support.remittance_builder import ClaimSpec, LineSpec, paid_claim, remittance_file

pytestmark = pytest.mark.integration
X12 = {"content-type": "application/edi-x12"}


async def _submit_claims(
    services: Pipeline,
    admin_db: asyncpg.Connection,
    tenant: str,
    claims: list[tuple[ClaimSpec, uuid.UUID, uuid.UUID]],
    *,
    currency: str = "USD",
    member_digests: dict[str, str] | None = None,
) -> dict[str, str]:
    """`claim-submitted` for each (spec, patient, encounter) through Kafka; their claim ids by CLM01, once known."""
    ids: dict[str, str] = {}
    for spec, patient, encounter in claims:
        claim_id = uuid.uuid4()
        payload = ClaimSubmittedV1(
            claim_id=claim_id,
            encounter_id=encounter,
            claim_control_number=spec.control_number,
            payer_id="SANDBOX",
            claim_type="professional",
            total_charge_cents=spec.charge_cents,
            currency=currency,
            lines=[
                {
                    "line_number": number,
                    "line_control_number": line.control_number or f"{spec.control_number}-{number}",
                    "procedure_code": line.procedure,
                    "modifiers": list(line.modifiers),
                    "units": 1,
                    "charge_cents": line.charge_cents,
                }
                for number, line in enumerate(spec.lines, start=1)
            ],
            interchange_control_number="000000001",
            submitted_at=dt.datetime.now(dt.UTC),
            patient_id=patient,
            member_digest=(member_digests or {}).get(spec.control_number),
        )
        envelope = EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)
        key, value, headers = to_kafka(envelope)
        await produce(services.kafka_bootstrap_servers, CLAIM_SUBMITTED.name, key=key, value=value, headers=headers)
        ids[spec.control_number] = str(claim_id)

    async def known() -> bool:
        count = await admin_db.fetchval(
            "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1 AND claim_control_number = ANY($2)",
            tenant,
            list(ids),
        )
        return bool(count == len(ids))

    await eventually(known, what="remittance to record the submitted claims")
    return ids


async def _ledger(client: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/claims/{claim_id}/ledger")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_payment_re_sent_under_a_new_trace_number_is_held_then_rejected_or_released_into_a_refund(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient, suffix = new_tenant(), uuid.uuid4(), uuid.uuid4().hex[:6].upper()
    claim = paid_claim(f"CF{suffix}")
    remittance = await services.start("remittance")
    ids = await _submit_claims(services, admin_db, tenant, [(claim, patient, uuid.uuid4())])
    claim_id = ids[claim.control_number]
    async with httpx.AsyncClient(
        base_url=remittance.base_url, headers=services.auth(tenant, "remittance:write", "remittance:read"), timeout=60
    ) as client:
        first = await client.post("/v1/remittances", content=remittance_file([claim], trace=f"A{suffix}"), headers=X12)
        assert first.status_code == 201 and first.json()["posted"] == 1, first.text
        posted_ledger = await _ledger(client, claim_id)
        totals = await ledger_totals(admin_db, tenant)

        # defect 11 #1: the same 835 with TRN02 changed posted again (49,600 paid on 15,500, balanced: true)
        again = await client.post("/v1/remittances", content=remittance_file([claim], trace=f"B{suffix}"), headers=X12)
        assert again.status_code == 201, again.text
        assert (again.json()["posted"], again.json()["held"], again.json()["suspended"]) == (0, 1, 0)
        assert await ledger_totals(admin_db, tenant) == totals, "a held payment posts nothing"
        assert (await _ledger(client, claim_id))["paid_cents"] == claim.paid_cents

        holds = (await client.get("/v1/payment-holds")).json()
        (held,) = holds
        payments = {p["check_or_eft_number"]: p for p in (await client.get(f"/v1/claims/{claim_id}/payments")).json()}
        assert held["duplicate_of"] == payments[f"A{suffix}"]["id"] and held["state"] == "held"
        assert (held["check_or_eft_number"], held["claim_id"]) == (f"B{suffix}", claim_id)
        assert (held["payer_name"], held["payer_id"], held["payment_method"]) == (
            "SYNTHETIC HEALTH PLAN",
            "1999999999",
            "ACH",
        )
        assert payments[f"A{suffix}"]["state"] == "posted" and payments[f"A{suffix}"]["payer_name"]

        no_reason = await client.post(f"/v1/payment-holds/{held['id']}/reject", json={})
        assert no_reason.status_code == 422
        rejected = await client.post(
            f"/v1/payment-holds/{held['id']}/reject", json={"reason": "same check re-sent by the payer"}
        )
        assert rejected.status_code == 200, rejected.text
        assert (rejected.json()["state"], rejected.json()["review_reason"]) == (
            "rejected",
            "same check re-sent by the payer",
        )
        assert (
            await client.post(f"/v1/payment-holds/{held['id']}/release", json={"reason": "x" * 5})
        ).status_code == 409
        assert (await client.get("/v1/payment-holds")).json() == []
        assert await ledger_totals(admin_db, tenant) == totals

        # a third copy, released by a person: it posts once, the claim shows a credit balance and a refund item
        third = await client.post("/v1/remittances", content=remittance_file([claim], trace=f"C{suffix}"), headers=X12)
        assert third.json()["held"] == 1, third.text
        (held,) = (await client.get("/v1/payment-holds")).json()
        released = await client.post(
            f"/v1/payment-holds/{held['id']}/release", json={"reason": "payer confirmed a second payment"}
        )
        assert released.status_code == 200 and released.json()["state"] == "posted", released.text
        overpaid = await _ledger(client, claim_id)
        assert overpaid["paid_cents"] == 2 * claim.paid_cents
        assert overpaid["open_cents"] < 0 and overpaid["credit_balance_cents"] == -overpaid["open_cents"]
        assert overpaid["balanced"] is False, "a negative open balance is not balanced"
        (refund,) = (await client.get("/v1/refunds")).json()
        assert (refund["claim_id"], refund["credit_cents"], refund["status"]) == (
            claim_id,
            overpaid["credit_balance_cents"],
            "open",
        )
        resolved = await client.post(
            f"/v1/refunds/{refund['id']}/resolve", json={"resolution": "refunded", "reason": "check 991 to the payer"}
        )
        assert resolved.status_code == 200 and resolved.json()["status"] == "refunded", resolved.text
        again_resolved = await client.post(
            f"/v1/refunds/{refund['id']}/resolve", json={"resolution": "refunded", "reason": "twice"}
        )
        assert again_resolved.status_code == 409
        settled = await _ledger(client, claim_id)
        assert settled["balanced"] and settled["open_cents"] == 0 and settled["credit_balance_cents"] == 0
        assert settled["paid_cents"] == 2 * posted_ledger["paid_cents"] - refund["credit_cents"], "refund = -payment"
        assert (await client.get("/v1/refunds")).json() == []
        assert [r["status"] for r in (await client.get("/v1/refunds", params={"status": "refunded"})).json()] == [
            "refunded"
        ]


async def test_patient_payments_only_for_known_patients_in_the_accounts_currency_on_sane_dates(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient, suffix = new_tenant(), uuid.uuid4(), uuid.uuid4().hex[:6].upper()
    remittance = await services.start("remittance")
    claim = paid_claim(f"CUR{suffix}")
    await _submit_claims(services, admin_db, tenant, [(claim, patient, uuid.uuid4())])
    async with httpx.AsyncClient(
        base_url=remittance.base_url, headers=services.auth(tenant, "remittance:write", "remittance:read"), timeout=30
    ) as client:

        async def pay(patient_id: uuid.UUID, key: str, **body: object) -> httpx.Response:
            return await client.post(
                f"/v1/accounts/{patient_id}/payments",
                json={"amount_cents": 500, "method": "card"} | body,
                headers={"Idempotency-Key": f"{key}-{suffix}"},
            )

        for key, currency in (("eur", "EUR"), ("jpy", "JPY")):
            refused = await pay(patient, key, currency=currency)
            assert refused.status_code == 422, refused.text
            (problem,) = refused.json()["errors"]
            assert problem["loc"] == ["body", "currency"] and "USD" in problem["msg"]
        for key, day in (("year1", "0001-01-01"), ("far", "9999-12-31"), ("old", "1899-12-31")):
            refused = await pay(patient, key, received_on=day)
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["loc"] == ["body", "received_on"]
        in_euros = remittance_file([claim], trace=f"E{suffix}").replace("~\nDTM*405", "~\nCUR*PR*EUR~\nDTM*405")
        in_euros = re.sub(r"SE\*(\d+)\*", lambda count: f"SE*{int(count.group(1)) + 1}*", in_euros)  # one more
        posted = await client.post("/v1/remittances", content=in_euros, headers=X12)
        assert (posted.status_code, posted.json()["posted"], posted.json()["suspended"]) == (201, 0, 1), posted.text
        (suspended,) = (await client.get("/v1/suspense")).json()
        assert suspended["suspense_reason"].startswith("CUR02:") and "USD" in suspended["suspense_reason"]
        unknown = await pay(uuid.uuid4(), "unknown")
        assert unknown.status_code == 404 and "no account" in unknown.text
        taken = await pay(patient, "usd", currency="USD")
        assert taken.status_code == 201, taken.text
        account = (await client.get(f"/v1/accounts/{patient}")).json()
        assert (account["currency"], account["balance_cents"]) == ("USD", -500)
        assert {entry["currency"] for entry in account["entries"]} == {"USD"}
    count = await admin_db.fetchval("SELECT count(*) FROM remittance.patient_payments WHERE tenant_id = $1", tenant)
    assert count == 1, "nothing refused was stored"


def _from_payer(file: str, payer_tax_id: str, name: str) -> str:
    return file.replace("*1999999999~", f"*{payer_tax_id}~").replace("N1*PR*SYNTHETIC HEALTH PLAN", f"N1*PR*{name}")


async def test_suspense_pages_with_a_cursor_and_a_match_that_does_not_fit_is_refused_unless_forced(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, suffix = new_tenant(), uuid.uuid4().hex[:6].upper()
    patient, other_patient = uuid.uuid4(), uuid.uuid4()
    known = paid_claim(f"KNOWN{suffix}")
    target = paid_claim(f"TARGET{suffix}", charge_cents=13000)
    remittance = await services.start("remittance")
    ids = await _submit_claims(
        services, admin_db, tenant, [(known, patient, uuid.uuid4()), (target, patient, uuid.uuid4())]
    )
    unknown = [paid_claim(f"LOST{suffix}{n:02d}", charge_cents=13000) for n in range(7)]
    async with httpx.AsyncClient(
        base_url=remittance.base_url, headers=services.auth(tenant, "remittance:write", "remittance:read"), timeout=60
    ) as client:
        # the payer's 835 pays a claim it names (so its TRN03 is known for the SANDBOX payer) and 7 unknown ones
        answer = await client.post(
            "/v1/remittances", content=remittance_file([known, *unknown], trace=f"S{suffix}"), headers=X12
        )
        assert answer.json()["suspended"] == 7, answer.text
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = await client.get("/v1/suspense", params=params)
            assert page.status_code == 200, page.text
            pages += 1
            seen += [item["claim_control_number"] for item in page.json()]
            assert all(item["payer_name"] == "SYNTHETIC HEALTH PLAN" for item in page.json())
            assert all(item["check_or_eft_number"] == f"S{suffix}" for item in page.json())
            cursor = page.headers.get("X-Next-Cursor")
            if cursor is None:
                assert "link" not in page.headers
                break
            assert 'rel="next"' in page.headers["link"]
        assert (pages, sorted(seen)) == (3, sorted(spec.control_number for spec in unknown))
        assert (await client.get("/v1/suspense", params={"cursor": "forged"})).status_code == 422

        # another payer's payment, for another patient, for another amount: each check refuses it
        other_payer = _from_payer(
            remittance_file([paid_claim(f"ELSE{suffix}", charge_cents=10000)], trace=f"O{suffix}"),
            "1888888888",
            "ANOTHER PLAN",
        )
        assert (await client.post("/v1/remittances", content=other_payer, headers=X12)).json()["suspended"] == 1
        suspended = {item["claim_control_number"]: item for item in (await client.get("/v1/suspense")).json()}
        mismatch = suspended[f"ELSE{suffix}"]
        assert mismatch["payer_name"] == "ANOTHER PLAN"
        refused = await client.post(
            f"/v1/suspense/{mismatch['id']}/match",
            json={"claim_control_number": target.control_number, "patient_id": str(other_patient)},
        )
        assert refused.status_code == 409, refused.text
        checks = [finding["check"] for finding in refused.json()["findings"]]
        assert checks == ["payer", "amount", "patient"]
        unforced = await client.post(
            f"/v1/suspense/{mismatch['id']}/match", json={"claim_control_number": target.control_number, "force": True}
        )
        assert unforced.status_code == 422, "forcing needs a reason"
        assert await admin_db.fetchval(
            "SELECT state FROM remittance.claim_payments WHERE id = $1", uuid.UUID(mismatch["id"])
        ) == ("suspense")

        # one of the payer's own, same amount and patient: it fits
        fits = suspended[unknown[0].control_number]
        matched = await client.post(
            f"/v1/suspense/{fits['id']}/match",
            json={"claim_control_number": target.control_number, "patient_id": str(patient)},
        )
        assert matched.status_code == 200, matched.text
        assert matched.json()["claim_id"] == ids[target.control_number]

        # the mismatch forced with a reason: posted, and the reason stays with the payment
        forced = await client.post(
            f"/v1/suspense/{mismatch['id']}/match",
            json={
                "claim_control_number": known.control_number,
                "force": True,
                "reason": "payer merged plans; EOB confirms this claim",
            },
        )
        assert forced.status_code == 200, forced.text
        (payment,) = [
            p
            for p in (await client.get(f"/v1/claims/{ids[known.control_number]}/payments")).json()
            if p["id"] == mismatch["id"]
        ]
        assert payment["state"] == "posted" and payment["review_reason"].startswith("payer merged plans")


async def test_a_suspended_payment_naming_another_member_id_is_refused_for_a_claim_unless_forced(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """With no patient id from the biller, the member id the 835 names (NM1*QC) is checked against the claim's
    subscriber through keyed digests: remittance stores digests, never the ids."""
    tenant, suffix, patient = new_tenant(), uuid.uuid4().hex[:6].upper(), uuid.uuid4()
    digest = MemberDigest.from_settings(ServiceSettings(auth_secret=SecretStr(services.secrets.auth_secret)))
    known, target = paid_claim(f"KNOWN{suffix}"), paid_claim(f"MEMBER{suffix}", charge_cents=13000)
    claim_digest = digest.of(tenant, f"SYN{suffix}")
    assert claim_digest is not None
    remittance = await services.start("remittance")
    ids = await _submit_claims(
        services,
        admin_db,
        tenant,
        [(known, patient, uuid.uuid4()), (target, patient, uuid.uuid4())],
        member_digests={target.control_number: claim_digest},
    )
    same_member = dataclasses.replace(paid_claim(f"SAME{suffix}", charge_cents=13000), member_id=f"syn-{suffix}")
    other_member = dataclasses.replace(paid_claim(f"OTHER{suffix}", charge_cents=13000), member_id=f"XYZ{suffix}")
    async with httpx.AsyncClient(
        base_url=remittance.base_url, headers=services.auth(tenant, "remittance:write", "remittance:read"), timeout=60
    ) as client:
        file = remittance_file([known, same_member, other_member], trace=f"M{suffix}")
        assert (await client.post("/v1/remittances", content=file, headers=X12)).json()["suspended"] == 2
        suspended = {item["claim_control_number"]: item["id"] for item in (await client.get("/v1/suspense")).json()}
        stored = await admin_db.fetch(
            "SELECT member_digests::text AS digests FROM remittance.claim_payments WHERE tenant_id = $1 "
            "AND state = 'suspense' ORDER BY claim_control_number",
            tenant,
        )
        assert [row["digests"] for row in stored] == [
            f'["{digest.of(tenant, f"XYZ{suffix}")}"]',
            f'["{claim_digest}"]',
        ], "a digest per member id named (case and dashes do not make another member), never the id"

        refused = await client.post(
            f"/v1/suspense/{suspended[other_member.control_number]}/match",
            json={"claim_control_number": target.control_number},
        )
        assert refused.status_code == 409, refused.text
        assert [finding["check"] for finding in refused.json()["findings"]] == ["patient"]

        matched = await client.post(
            f"/v1/suspense/{suspended[same_member.control_number]}/match",
            json={"claim_control_number": target.control_number},
        )
        assert matched.status_code == 200, matched.text
        assert matched.json()["claim_id"] == ids[target.control_number]


def _secondary(control_number: str, *, status: str, paid: int, prior: int, patient_share: int) -> ClaimSpec:
    """A later payer's claim payment: the earlier payers' impact as CAS OA-23, what the patient still owes PR-2."""
    charge = paid + prior + patient_share
    adjustments = (("OA", "23", prior), ("PR", "2", patient_share)) if patient_share else (("OA", "23", prior),)
    return ClaimSpec(
        control_number,
        (LineSpec("99213", charge, paid, adjustments, f"{control_number}-1"),),
        status=status,
        payer_claim_number=f"{control_number}-{status}",
    )


async def test_primary_secondary_and_tertiary_payments_net_so_the_patient_owes_what_the_last_payer_leaves(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient, encounter, suffix = new_tenant(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex[:6].upper()
    primary = ClaimSpec(
        f"PRI{suffix}",
        (LineSpec("99213", 15500, 9000, (("CO", "45", 3500), ("PR", "1", 1000), ("PR", "2", 2000)), f"PRI{suffix}-1"),),
    )
    secondary_number = f"SEC{suffix}"
    secondary_claim = ClaimSpec(secondary_number, (LineSpec("99213", 15500, 0, (), f"{secondary_number}-1"),))
    remittance = await services.start("remittance")
    ids = await _submit_claims(
        services, admin_db, tenant, [(primary, patient, encounter), (secondary_claim, patient, encounter)]
    )
    async with httpx.AsyncClient(
        base_url=remittance.base_url, headers=services.auth(tenant, "remittance:write", "remittance:read"), timeout=60
    ) as client:

        async def post(spec: ClaimSpec, trace: str) -> None:
            answer = await client.post("/v1/remittances", content=remittance_file([spec], trace=trace), headers=X12)
            assert answer.status_code == 201 and answer.json()["posted"] == 1, answer.text

        async def patient_owes() -> int:
            balance: int = (await client.get(f"/v1/accounts/{patient}")).json()["balance_cents"]
            return balance

        async def identity_holds() -> None:
            claims_patient_share = 0
            for claim_id in ids.values():
                ledger = await _ledger(client, claim_id)
                assert ledger["balanced"] and ledger["open_cents"] == 0, ledger
                claims_patient_share += ledger["patient_responsibility_cents"]
            assert await patient_owes() == claims_patient_share, "the patient's account agrees with the claims"

        await post(primary, f"P{suffix}")
        assert await patient_owes() == 3000
        # the secondary payer, on the secondary claim of the same encounter, pays 2,200 of the 3,000 left
        await post(_secondary(secondary_number, status="2", paid=2200, prior=12500, patient_share=800), f"S{suffix}")
        assert await patient_owes() == 800
        await identity_holds()
        # the tertiary, crossed over on the same claim, restates the earlier payers (14,700) and pays 500
        await post(_secondary(secondary_number, status="3", paid=500, prior=14700, patient_share=300), f"T{suffix}")
        assert await patient_owes() == 300, "what the last payer leaves, never counted twice"
        await identity_holds()
        paid = [(await _ledger(client, claim_id))["paid_cents"] for claim_id in ids.values()]
        assert sum(paid) == 9000 + 2200 + 500
        assert (await client.get("/v1/refunds")).json() == []
    totals = await ledger_totals(admin_db, tenant)
    assert totals[("patient", str(patient), "patient_responsibility")] == 300
