"""What payers actually send, posted through the real remittance process, Kafka and Postgres: a claim paid,
reversed and paid again in one check; payments that arrive before their claim; recoupments by PLB.

The 835s are the synthetic fixtures of `tests/fixtures/remittance/` (fixed CLP01s; every test has its tenant)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_DENIED, CLAIM_SUBMITTED, PAYMENT_RECEIVED
from tests.support.ledger import ledger_totals
from tests.support.pipeline import Pipeline, end_offsets, eventually, new_tenant, produce, read_from
from tests.support.posting import post_file

pytestmark = pytest.mark.integration
X12 = {"content-type": "application/edi-x12"}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "remittance"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


VISIT_AND_LAB = (("99213", (), 12500), ("87880", ("QW",), 3000))
"""The claim most fixtures pay: an office visit (125.00) and a waived lab test (30.00)."""
LINES = {
    "CF-LATE-2": (("99214", (), 20000),),
    "CF-VOIDED-1-COINS": (("99213", (), 10000), ("81002", (), 5000)),
}
"""Claims of other shapes: the visit the payer denies; the claim the sandbox payer paid, then reversed for a void."""


def _claim_submitted(tenant: str, control_number: str, patient_id: uuid.UUID, claim_id: uuid.UUID) -> EventEnvelope:
    lines = LINES.get(control_number, VISIT_AND_LAB)
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=control_number,
        payer_id="SANDBOX",
        claim_type="professional",
        total_charge_cents=sum(charge for _, _, charge in lines),
        lines=[
            {
                "line_number": number,
                "line_control_number": f"{control_number}-{'L' if control_number in LINES else ''}{number}",
                "procedure_code": code,
                "modifiers": list(modifiers),
                "units": 1,
                "charge_cents": charge,
            }
            for number, (code, modifiers, charge) in enumerate(lines, start=1)
        ],
        interchange_control_number="000000001",
        submitted_at=dt.datetime.now(dt.UTC),
        patient_id=patient_id,
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def _send(services: Pipeline, envelope: EventEnvelope) -> None:
    key, value, headers = to_kafka(envelope)
    await produce(services.kafka_bootstrap_servers, CLAIM_SUBMITTED.name, key=key, value=value, headers=headers)


async def _submit(
    services: Pipeline, admin_db: asyncpg.Connection, tenant: str, patient: uuid.UUID, *numbers: str
) -> dict[str, str]:
    """Claim-submitted for each claim number, consumed; their claim ids."""
    claim_ids = {number: uuid.uuid4() for number in numbers}
    for number, claim_id in claim_ids.items():
        await _send(services, _claim_submitted(tenant, number, patient, claim_id))

    async def known() -> bool:
        count = await admin_db.fetchval(
            "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1 AND claim_control_number = ANY($2)",
            tenant,
            list(numbers),
        )
        return int(count) == len(numbers)

    await eventually(known, what="remittance to record the submitted claims")
    return {number: str(claim_id) for number, claim_id in claim_ids.items()}


async def _drained(admin_db: asyncpg.Connection, tenant: str) -> bool:
    pending = await admin_db.fetchval(
        "SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1 AND published_at IS NULL", tenant
    )
    return int(pending) == 0


def _mine(records: list[Any], tenant: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records if dict(r.headers).get("ce_tenant") == tenant.encode()]


async def _claim_entries(admin_db: asyncpg.Connection, tenant: str, claim_id: str) -> list[asyncpg.Record]:
    rows = await admin_db.fetch(
        "SELECT id, kind, amount_cents, carc, line_number, reversal_of, claim_payment_id, reference "
        "FROM remittance.ledger_entries WHERE tenant_id = $1 AND account_type = 'claim' AND account_id = $2 "
        "ORDER BY id",
        tenant,
        claim_id,
    )
    return list(rows)


async def test_a_check_that_pays_reverses_and_repays_posts_all_three_in_file_order_and_nothing_to_suspense(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient = new_tenant(), uuid.uuid4()
    remittance = await services.start("remittance")
    claim_ids = await _submit(services, admin_db, tenant, patient, "CF-REVREPAY-1", "CF-REVREPAY-2", "CF-RECOUP-1")
    start = await end_offsets(services.kafka_bootstrap_servers, PAYMENT_RECEIVED.name)
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        earlier = await client.post("/v1/remittances", content=_fixture("earlier_payments.835"), headers=X12)
        assert earlier.status_code == 201, earlier.text
        assert (earlier.json()["posted"], earlier.json()["suspended"]) == (2, 0)
        same_file = await client.post("/v1/remittances", content=_fixture("same_file_reverse_repay.835"), headers=X12)
        assert same_file.status_code == 201, same_file.text
        assert (same_file.json()["posted"], same_file.json()["suspended"], same_file.json()["duplicates"]) == (5, 0, 0)
        assert same_file.json()["paid_cents"] == 12000 - 12000 + 13000 - 12000 + 13500
        assert (await client.get("/v1/suspense")).json() == []
        after = await ledger_totals(admin_db, tenant)
        again = await client.post("/v1/remittances", content=_fixture("same_file_reverse_repay.835"), headers=X12)
        assert (again.status_code, again.json()) == (200, same_file.json())
        assert await ledger_totals(admin_db, tenant) == after

        for number, paid, patient_share in (("CF-REVREPAY-1", 13000, 1000), ("CF-REVREPAY-2", 13500, 500)):
            ledger = (await client.get(f"/v1/claims/{claim_ids[number]}/ledger")).json()
            assert ledger["balanced"] and ledger["open_cents"] == 0, ledger
            assert (ledger["paid_cents"], ledger["adjustment_cents"], ledger["patient_responsibility_cents"]) == (
                paid,
                1500,
                patient_share,
            ), number
        account = (await client.get(f"/v1/accounts/{patient}")).json()
        assert account["balance_cents"] == 1000 + 500 + 2000  # CF-RECOUP-1's coinsurance stands

        # a later check reverses the re-payment under a payer claim number of its own: the amounts it negates
        # name the payment; its forward balance stays on the provider's ledger
        renumbered = await client.post("/v1/remittances", content=_fixture("renumbered_reversal.835"), headers=X12)
        assert renumbered.status_code == 201, renumbered.text
        assert (renumbered.json()["posted"], renumbered.json()["suspended"]) == (1, 0)
        reopened = (await client.get(f"/v1/claims/{claim_ids['CF-REVREPAY-1']}/ledger")).json()
        assert reopened["balanced"] and (reopened["paid_cents"], reopened["open_cents"]) == (0, 15500), reopened

    entries = (await _claim_entries(admin_db, tenant, claim_ids["CF-REVREPAY-1"]))[:10]  # up to the re-payment
    kinds = [(e["kind"], e["amount_cents"]) for e in entries]
    assert kinds == [
        ("charge", 15500),
        ("payment", -12000),
        ("adjustment", -1500),
        ("patient_responsibility", -2000),
        ("payment", 12000),
        ("adjustment", 1500),
        ("patient_responsibility", 2000),
        ("payment", -13000),
        ("adjustment", -1500),
        ("patient_responsibility", -1000),
    ]
    originals, reversals = entries[1:4], entries[4:7]
    assert [r["reversal_of"] for r in reversals] == [o["id"] for o in originals], "negated one for one"
    assert [(r["carc"], r["line_number"]) for r in reversals] == [(o["carc"], o["line_number"]) for o in originals]
    assert len({e["claim_payment_id"] for e in entries[1:]}) == 3

    await eventually(lambda: _drained(admin_db, tenant), what="the relay to publish every event")
    received = _mine(await read_from(services.kafka_bootstrap_servers, start), tenant)
    first_claim = [p for p in received if p["claim_id"] == claim_ids["CF-REVREPAY-1"]]
    assert [(p["claim_status_code"], p["paid_cents"]) for p in first_claim] == [
        ("1", 12000),
        ("22", -12000),
        ("1", 13000),
        ("22", -13000),
    ]
    assert first_claim[3]["reversal_of"] == first_claim[2]["payment_id"]
    assert first_claim[1]["reversal_of"] == first_claim[0]["payment_id"]
    second_claim = [p for p in received if p["claim_id"] == claim_ids["CF-REVREPAY-2"]]
    assert [(p["claim_status_code"], p["paid_cents"]) for p in second_claim] == [
        ("1", 12000),
        ("22", -12000),
        ("1", 13500),
    ]
    assert second_claim[1]["reversal_of"] == second_claim[0]["payment_id"], "an earlier file's payment reversed"


async def test_payments_posted_before_their_claim_is_known_are_matched_once_when_claim_submitted_arrives(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient = new_tenant(), uuid.uuid4()
    remittance = await services.start("remittance")
    starts = {
        topic: await end_offsets(services.kafka_bootstrap_servers, topic)
        for topic in (PAYMENT_RECEIVED.name, CLAIM_DENIED.name)
    }
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        early = await client.post("/v1/remittances", content=_fixture("out_of_order.835"), headers=X12)
        assert early.status_code == 201, early.text
        assert (early.json()["posted"], early.json()["suspended"]) == (0, 4)
        assert len((await client.get("/v1/suspense")).json()) == 4

        # the claims become known afterwards, as a claims service catching up would tell
        claim_ids = await _submit(services, admin_db, tenant, patient, "CF-LATE-1", "CF-LATE-2")

        async def suspense_empty() -> bool:
            return bool((await client.get("/v1/suspense")).json() == [])

        await eventually(suspense_empty, what="the suspended payments to be matched")
        late = (await client.get(f"/v1/claims/{claim_ids['CF-LATE-1']}/ledger")).json()
        assert late["balanced"] and late["open_cents"] == 0
        assert (late["paid_cents"], late["adjustment_cents"], late["patient_responsibility_cents"]) == (14000, 1500, 0)
        denied = (await client.get(f"/v1/claims/{claim_ids['CF-LATE-2']}/ledger")).json()
        assert (denied["paid_cents"], denied["adjustment_cents"], denied["open_cents"]) == (0, 20000, 0)
        assert (await client.get(f"/v1/accounts/{patient}")).json()["balance_cents"] == 0
    totals = await ledger_totals(admin_db, tenant)
    await eventually(lambda: _drained(admin_db, tenant), what="the relay to publish the matched payments")
    outbox_rows = await admin_db.fetchval("SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1", tenant)

    # claim-submitted again (a replay, a resubmission): nothing is matched twice
    late_id = uuid.UUID(claim_ids["CF-LATE-1"])
    await _send(services, _claim_submitted(tenant, "CF-LATE-1", patient, late_id))
    marker_id = uuid.uuid4()
    marker = _claim_submitted(tenant, "CF-LATE-MARK", patient, marker_id).replace(subject=str(late_id))
    await _send(services, marker)  # the same key as the replay: consumed after it

    async def marker_known() -> bool:
        count = await admin_db.fetchval(
            "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1 AND claim_control_number = $2",
            tenant,
            "CF-LATE-MARK",
        )
        return int(count) == 1

    await eventually(marker_known, what="the replayed claim-submitted to be consumed")
    assert await admin_db.fetchval("SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1", tenant) == outbox_rows
    assert await ledger_totals(admin_db, tenant) == totals | {("claim", str(marker_id), "charge"): 15500}

    payments = _mine(await read_from(services.kafka_bootstrap_servers, starts[PAYMENT_RECEIVED.name]), tenant)
    late_payments = [p for p in payments if p["claim_control_number"] == "CF-LATE-1"]  # one claim: one partition
    assert [p["claim_status_code"] for p in late_payments] == ["1", "22", "1"], "matched in file order"
    assert [p["claim_status_code"] for p in payments if p["claim_control_number"] == "CF-LATE-2"] == ["1"]
    assert len({p["payment_id"] for p in payments}) == 4
    assert late_payments[1]["reversal_of"] == late_payments[0]["payment_id"]
    denials = _mine(await read_from(services.kafka_bootstrap_servers, starts[CLAIM_DENIED.name]), tenant)
    assert [(d["claim_id"], d["carcs"]) for d in denials] == [(claim_ids["CF-LATE-2"], ["197"])]


async def test_a_plb_recoupment_naming_a_claim_lowers_its_payment_and_reopens_its_balance(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant, patient = new_tenant(), uuid.uuid4()
    remittance = await services.start("remittance")
    claim_ids = await _submit(services, admin_db, tenant, patient, "CF-REVREPAY-2", "CF-RECOUP-1", "CF-RECOUP-2")
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        assert (await client.post("/v1/remittances", content=_fixture("earlier_payments.835"), headers=X12)).is_success
        recouped = await client.post("/v1/remittances", content=_fixture("plb_recoupment.835"), headers=X12)
        assert recouped.status_code == 201, recouped.text
        assert (recouped.json()["posted"], recouped.json()["provider_adjustments_posted"]) == (1, 2)
        ledger = (await client.get(f"/v1/claims/{claim_ids['CF-RECOUP-1']}/ledger")).json()
        assert ledger["balanced"], ledger
        assert (ledger["paid_cents"], ledger["open_cents"]) == (12000 - 5000, 5000)
        (recoupment,) = [e for e in ledger["entries"] if e["carc"] == "WO"]
        assert (recoupment["kind"], recoupment["amount_cents"], recoupment["reference"]) == (
            "payment",
            5000,
            "PLB WO ICN-RC-1",
        )
        provider = (await client.get("/v1/providers/1234567893/ledger")).json()
        assert provider["balance_cents"] == 5000 - 123, "the provider-level entries stay for the check's balance"
        untouched = (await client.get(f"/v1/claims/{claim_ids['CF-RECOUP-2']}/ledger")).json()
        assert (untouched["paid_cents"], untouched["open_cents"]) == (12000, 0)
        totals = await ledger_totals(admin_db, tenant)
        re_enveloped = _fixture("plb_recoupment.835").replace(b"000000804", b"000000899")
        again = await client.post("/v1/remittances", content=re_enveloped, headers=X12)
        assert again.status_code == 201, again.text
        assert (again.json()["posted"], again.json()["provider_adjustments_posted"]) == (0, 0)
        assert await ledger_totals(admin_db, tenant) == totals


async def test_the_sandbox_payers_reversal_of_a_voided_claim_reopens_it_and_carries_the_debt_forward(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """`void_original.835` and `void_reversal.835` are what the sandbox payer answered to a claim and to its void."""
    tenant, patient = new_tenant(), uuid.uuid4()
    remittance = await services.start("remittance")
    claim_ids = await _submit(services, admin_db, tenant, patient, "CF-VOIDED-1-COINS")
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        paid = await client.post("/v1/remittances", content=_fixture("void_original.835"), headers=X12)
        assert (paid.status_code, paid.json()["posted"]) == (201, 1), paid.text
        reversed_ = await client.post("/v1/remittances", content=_fixture("void_reversal.835"), headers=X12)
        assert reversed_.status_code == 201, reversed_.text
        assert (reversed_.json()["posted"], reversed_.json()["suspended"], reversed_.json()["paid_cents"]) == (
            1,
            0,
            -9600,
        )
        ledger = (await client.get(f"/v1/claims/{claim_ids['CF-VOIDED-1-COINS']}/ledger")).json()
        assert ledger["balanced"], ledger
        assert (ledger["paid_cents"], ledger["adjustment_cents"], ledger["patient_responsibility_cents"]) == (0, 0, 0)
        assert ledger["open_cents"] == 15000, "the voided claim's balance is open again"
        assert (await client.get(f"/v1/accounts/{patient}")).json()["balance_cents"] == 0
        provider = (await client.get("/v1/providers/1234567893/ledger")).json()
        assert [(e["carc"], e["amount_cents"]) for e in provider["entries"]] == [("FB", -9600)]
    entries = await _claim_entries(admin_db, tenant, claim_ids["CF-VOIDED-1-COINS"])
    originals = [e for e in entries if e["kind"] != "charge" and e["reversal_of"] is None]
    reversals = [e for e in entries if e["reversal_of"] is not None]
    assert [r["reversal_of"] for r in reversals] == [o["id"] for o in originals]
    assert [r["amount_cents"] for r in reversals] == [-o["amount_cents"] for o in originals]


async def test_a_claim_submitted_consumed_while_its_payment_is_being_posted_still_finds_it(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """The race the matching lock closes: a file posting (its claim unknown, so suspended, not yet committed)
    while `claim-submitted` for that claim is consumed. The consumer waits for the posting to commit, then
    matches the payment; without the lock each would miss the other and the payment would wait for a person."""
    tenant, patient = new_tenant(), uuid.uuid4()
    await services.start("remittance")
    engine = create_engine(services.role_url("remittance"), pool_size=1)
    body = _fixture("out_of_order.835")
    claim_id = uuid.uuid4()
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            result, created = await post_file(session, tenant=tenant, body=body)
            assert created and (result.posted, result.suspended) == (0, 4)
            await _send(services, _claim_submitted(tenant, "CF-LATE-2", patient, claim_id))

            async def consumer_waits() -> bool:
                waiting = await admin_db.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                return int(waiting) > 0

            await eventually(consumer_waits, what="the claim-submitted consumer to wait for the posting to commit")
    finally:
        await engine.dispose()

    async def matched() -> bool:
        state = await admin_db.fetchval(
            "SELECT state FROM remittance.claim_payments WHERE tenant_id = $1 AND claim_control_number = $2",
            tenant,
            "CF-LATE-2",
        )
        return bool(state == "posted")

    await eventually(matched, what="the payment posted once the claim became known")
    suspended = await admin_db.fetchval(
        "SELECT count(*) FROM remittance.claim_payments WHERE tenant_id = $1 AND state = 'suspense'", tenant
    )
    assert suspended == 3, "the other claim's payments still wait for theirs"
