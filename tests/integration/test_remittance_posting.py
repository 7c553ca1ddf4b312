"""835 posting through the real remittance process, Kafka and Postgres: once, all or nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_DENIED, CLAIM_SUBMITTED, PAYMENT_RECEIVED
from tests.support.ledger import ledger_totals as _ledger_totals
from tests.support.pipeline import Pipeline, end_offsets, eventually, new_tenant, produce, read_from
from tests.support.remittance_builder import ClaimSpec, LineSpec, paid_claim, remittance_file

pytestmark = pytest.mark.integration
X12 = {"content-type": "application/edi-x12"}


def _claim_submitted(tenant: str, spec: ClaimSpec, patient_id: uuid.UUID) -> EventEnvelope:
    claim_id = uuid.uuid4()
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=spec.control_number,
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=spec.charge_cents,
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
        patient_id=patient_id,
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def _submit(services: Pipeline, envelope: EventEnvelope) -> None:
    key, value, headers = to_kafka(envelope)
    await produce(services.kafka, CLAIM_SUBMITTED.name, key=key, value=value, headers=headers)


async def _count(admin_db: asyncpg.Connection, table: str, tenant: str, where: str = "TRUE") -> int:
    query = f"SELECT count(*) FROM remittance.{table} WHERE tenant_id = $1 AND {where}"  # noqa: S608 - test constants
    return int(await admin_db.fetchval(query, tenant))


async def _outbox_drained(admin_db: asyncpg.Connection, tenant: str) -> bool:
    return await _count(admin_db, "outbox", tenant, "published_at IS NULL") == 0


def _denied_claim(control_number: str) -> ClaimSpec:
    return ClaimSpec(
        control_number,
        (LineSpec("99214", 20000, 0, (("CO", "197", 20000),), f"{control_number}-1"),),
    )


async def test_an_835_posted_twice_posts_once_and_emits_one_payment_received_per_claim_payment(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient = new_tenant(), uuid.uuid4()
    suffix = uuid.uuid4().hex[:6].upper()
    paid, denied, late = paid_claim(f"PAID{suffix}"), _denied_claim(f"DENY{suffix}"), paid_claim(f"LATE{suffix}")
    envelopes = {spec.control_number: _claim_submitted(tenant, spec, patient) for spec in (paid, denied, late)}
    claim_ids = {ccn: envelope.subject for ccn, envelope in envelopes.items()}
    remittance = await services.start("remittance")
    for envelope in envelopes.values():
        await _submit(services, envelope)

    async def claims_known() -> bool:
        return await _count(admin_db, "submitted_claims", tenant) == 3

    await eventually(claims_known, what="remittance to record the submitted claims")
    starts = {topic: await end_offsets(services.kafka, topic) for topic in (PAYMENT_RECEIVED.name, CLAIM_DENIED.name)}
    unknown = paid_claim(f"UNKNOWN{suffix}")
    file = remittance_file(
        [paid, denied, unknown], trace=f"T{suffix}", provider_adjustments=(("L6", -321), ("WO", 1000))
    )
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        first = await client.post("/v1/remittances", content=file, headers=X12)
        assert first.status_code == 201, first.text
        assert first.json() | {"remittance_id": None} == {
            "remittance_id": None,
            "transactions": 1,
            "claim_payments": 3,
            "posted": 2,
            "suspended": 1,
            "duplicates": 0,
            "held": 0,
            "provider_adjustments_posted": 2,
            "paid_cents": paid.paid_cents,
            "currency": "USD",
            "trace_numbers": [f"T{suffix}"],
            "warnings": [],
        }
        after_first = await _ledger_totals(admin_db, tenant)
        again = await client.post("/v1/remittances", content=file, headers={"content-type": "text/plain"})
        assert (again.status_code, again.json()) == (200, first.json())
        re_enveloped = remittance_file(
            [paid, denied, unknown],
            trace=f"T{suffix}",
            interchange_control="000000902",
            provider_adjustments=(("L6", -321), ("WO", 1000)),
        )
        third = await client.post("/v1/remittances", content=re_enveloped, headers=X12)
        assert third.status_code == 201, third.text
        assert (third.json()["posted"], third.json()["duplicates"], third.json()["provider_adjustments_posted"]) == (
            0,
            3,
            0,
        )
        assert await _ledger_totals(admin_db, tenant) == after_first

        suspense = (await client.get("/v1/suspense")).json()
        assert [item["claim_control_number"] for item in suspense] == [unknown.control_number]
        matched = await client.post(
            f"/v1/suspense/{suspense[0]['id']}/match", json={"claim_control_number": late.control_number}
        )
        assert matched.status_code == 200, matched.text
        assert matched.json()["claim_id"] == claim_ids[late.control_number]
        twice = await client.post(
            f"/v1/suspense/{suspense[0]['id']}/match", json={"claim_control_number": late.control_number}
        )
        assert twice.status_code == 409
        assert (await client.get("/v1/suspense")).json() == []

        for spec, paid_cents, adjustment, patient_share in (
            (paid, paid.paid_cents, 1500, 2000),
            (late, late.paid_cents, 1500, 2000),
            (denied, 0, 20000, 0),
        ):
            ledger = (await client.get(f"/v1/claims/{claim_ids[spec.control_number]}/ledger")).json()
            assert ledger["balanced"] and ledger["open_cents"] == 0, ledger
            assert (ledger["charge_cents"], ledger["paid_cents"]) == (spec.charge_cents, paid_cents)
            assert (ledger["adjustment_cents"], ledger["patient_responsibility_cents"]) == (adjustment, patient_share)
        account = (await client.get(f"/v1/accounts/{patient}")).json()
        assert account["balance_cents"] == 4000 and account["aging"]["0-30"] == 4000
        provider = (await client.get("/v1/providers/1234567893/ledger")).json()
        assert provider["balance_cents"] == 679

        payment = {"amount_cents": 1500, "method": "card"}
        key = {"Idempotency-Key": f"pay-{suffix}"}
        paid_once = await client.post(f"/v1/accounts/{patient}/payments", json=payment, headers=key)
        paid_again = await client.post(f"/v1/accounts/{patient}/payments", json=payment, headers=key)
        assert (paid_once.status_code, paid_again.status_code) == (201, 200)
        assert paid_once.json() == paid_again.json()
        other = await client.post(f"/v1/accounts/{patient}/payments", json={"amount_cents": 99}, headers=key)
        assert other.status_code == 409
        assert (await client.get(f"/v1/accounts/{patient}")).json()["balance_cents"] == 2500

        plan = await client.post(
            f"/v1/accounts/{patient}/payment-plans", json={"installments": 3, "first_due": "2026-01-15"}
        )
        assert plan.status_code == 201, plan.text
        assert [i["amount_cents"] for i in plan.json()["installments"]] == [834, 833, 833]
        overdue = (await client.get("/v1/payment-plans/overdue", params={"as_of": "2026-03-01"})).json()
        assert [(p["patient_id"], [m["number"] for m in p["missed"]]) for p in overdue] == [(str(patient), [1, 2])]

    await eventually(lambda: _outbox_drained(admin_db, tenant), what="the relay to publish every event")
    received = await read_from(services.kafka, starts[PAYMENT_RECEIVED.name])
    mine = [r for r in received if dict(r.headers).get("ce_tenant") == tenant.encode()]
    payment_ids = Counter(_payment_id(r.value) for r in mine)
    assert len(payment_ids) == 3 and set(payment_ids.values()) == {1}, payment_ids
    assert {r.key.decode() for r in mine} == set(claim_ids.values())
    denials = await read_from(services.kafka, starts[CLAIM_DENIED.name])
    assert [r.key.decode() for r in denials if dict(r.headers).get("ce_tenant") == tenant.encode()] == [
        claim_ids[denied.control_number]
    ]


def _payment_id(value: bytes) -> str:
    return str(json.loads(value)["payment_id"])


async def test_a_malformed_or_unbalanced_835_is_refused_with_segment_and_position_and_posts_nothing(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    remittance = await services.start("remittance")
    good = remittance_file([paid_claim("MALFORMED-1")])
    truncated = good[: good.index("GE*")]
    unbalanced = good.replace("CAS*CO*45*15.00", "CAS*CO*45*14.00")
    write = services.auth(tenant, "remittance:write")
    async with httpx.AsyncClient(base_url=remittance.base_url, timeout=30) as client:
        assert (await client.post("/v1/remittances", content=good, headers=X12)).status_code == 401
        read_only = services.auth(tenant, "remittance:read")
        assert (await client.post("/v1/remittances", content=good, headers=X12 | read_only)).status_code == 403
        wrong_type = await client.post("/v1/remittances", json={"x": 1}, headers=write)
        assert wrong_type.status_code == 415
        answer = await client.post("/v1/remittances", content=truncated, headers=X12 | write)
        assert answer.status_code == 422, answer.text
        detail = answer.json()  # problem details; where it failed as extension members
        assert answer.headers["content-type"] == "application/problem+json" and detail["detail"] == detail["reason"]
        assert detail["segment_id"] and isinstance(detail["position"], int) and detail["reason"]
        answer = await client.post("/v1/remittances", content=unbalanced, headers=X12 | write)
        assert answer.status_code == 422, answer.text
        detail = answer.json()
        assert (detail["segment_id"], detail["position"]) == ("SVC", 11), detail
        assert "does not balance" in detail["reason"]
        garbage = await client.post("/v1/remittances", content=b"\xff\xfe not x12 at all", headers=X12 | write)
        assert garbage.status_code == 422, garbage.text
        empty = await client.post("/v1/remittances", content=b"", headers=X12 | write)
        assert empty.status_code == 422, empty.text
    for table in ("remittance_files", "claim_payments", "ledger_entries", "outbox"):
        assert await _count(admin_db, table, tenant) == 0, table


async def test_a_service_killed_while_posting_a_large_file_posts_nothing_then_exactly_once(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, suffix, count = new_tenant(), uuid.uuid4().hex[:6].upper(), 3000
    specs = [paid_claim(f"K{suffix}{n:05d}", charge_cents=15500 + n) for n in range(count)]
    patient = uuid.uuid4()
    await admin_db.executemany(
        "INSERT INTO remittance.submitted_claims (claim_id, tenant_id, claim_control_number, payer_id, "
        "total_charge_cents, currency, submitted_at, patient_id, lines) "
        "VALUES ($1, $2, $3, 'SANDBOX', $4, 'USD', now(), $5, $6::jsonb)",
        [
            (
                uuid.uuid4(),
                tenant,
                spec.control_number,
                spec.charge_cents,
                patient,
                json.dumps(
                    [
                        {
                            "line_number": 1,
                            "line_control_number": f"{spec.control_number}-1",
                            "procedure_code": "99213",
                            "modifiers": [],
                            "charge_cents": spec.lines[0].charge_cents,
                        }
                    ]
                ),
            )
            for spec in specs
        ],
    )
    file = remittance_file(specs, trace=f"K{suffix}")
    remittance = await services.start("remittance")
    write = services.auth(tenant, "remittance:write")

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=120) as client:
            return await client.post("/v1/remittances", content=file, headers=X12)

    upload = asyncio.create_task(post())

    async def writing() -> bool:
        return bool(
            await admin_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND usename = 'remittance' AND backend_xid IS NOT NULL"
            )
        )

    await eventually(writing, timeout_s=60, what="the posting transaction to start writing")
    remittance.kill()
    with pytest.raises(httpx.HTTPError):
        await upload

    async def backend_gone() -> bool:
        return not await writing()

    await eventually(backend_gone, what="Postgres to roll back the killed posting")
    for table in ("remittance_files", "claim_payments", "ledger_entries", "outbox"):
        assert await _count(admin_db, table, tenant) == 0, f"{table}: a killed posting must leave nothing"

    start = await end_offsets(services.kafka, PAYMENT_RECEIVED.name)
    restarted = await services.start("remittance")
    async with httpx.AsyncClient(base_url=restarted.base_url, headers=write, timeout=120) as client:
        answer = await client.post("/v1/remittances", content=file, headers=X12)
        assert answer.status_code == 201, answer.text
        assert (answer.json()["posted"], answer.json()["duplicates"]) == (count, 0)
        again = await client.post("/v1/remittances", content=file, headers=X12)
        assert (again.status_code, again.json()) == (200, answer.json())
    totals = await _ledger_totals(admin_db, tenant)
    claims_paid = -sum(total for (_, _, kind), total in totals.items() if kind == "payment")
    assert claims_paid == sum(spec.paid_cents for spec in specs)
    assert totals[("patient", str(patient), "patient_responsibility")] == 2000 * count
    assert await _count(admin_db, "claim_payments", tenant) == count
    assert await _count(admin_db, "outbox", tenant) == count
    # a batch this large goes into the outbox by COPY: the relay still publishes each event once
    await eventually(
        lambda: _outbox_drained(admin_db, tenant), timeout_s=60, what="the relay to publish the large posting"
    )
    received = await read_from(services.kafka, start)
    mine = Counter(_payment_id(r.value) for r in received if dict(r.headers).get("ce_tenant") == tenant.encode())
    assert len(mine) == count and set(mine.values()) == {1}
