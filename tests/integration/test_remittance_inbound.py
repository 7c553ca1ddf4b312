"""835s from the clearinghouse inbound box, collected by the real remittance process: posted through the
upload's code path, rejected files recorded and set aside, a file read again after a crash posting nothing,
and the sandbox payer's answer to our own 837 posted end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from sandbox.clearinghouse import FolderClearinghouse
from services.remittance.handlers import on_claim_submitted
from shared.clearinghouse.file_drop import write_atomically
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.topics import CLAIM_DENIED, PAYMENT_RECEIVED
from tests.support.ledger import ledger_totals as _ledger_totals
from tests.support.pipeline import Pipeline, end_offsets, eventually, new_tenant, read_from
from tests.support.remittance_builder import paid_claim, remittance_file
from tests.support.sandbox_837 import RECEIVED_AT, professional, x12_837

pytestmark = pytest.mark.integration
SANDBOX_PAYEE_NPI = "1234567893"
"""The billing provider NPI of the synthetic 837s, which the sandbox's 835 names as payee (N1*PE)."""


def _inbound_env(folder: Path, **settings: str) -> dict[str, str]:
    return {
        "CLAIMFLOW_CLEARINGHOUSE_TRANSPORT": "file_drop",
        "CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(folder),
        "CLAIMFLOW_REMITTANCE_INBOUND_INTERVAL_S": "0.2",
        **settings,
    }


async def _counts(admin_db: asyncpg.Connection, tenant: str) -> dict[str, int]:
    counts = {}
    for table in ("remittance_files", "claim_payments", "ledger_entries", "outbox", "inbound_files"):
        query = f"SELECT count(*) FROM remittance.{table} WHERE tenant_id = $1"  # noqa: S608 - test constants
        counts[table] = int(await admin_db.fetchval(query, tenant))
    return counts


def _waiting_835s(folder: Path) -> list[str]:
    return sorted(path.name for path in (folder / "inbound").iterdir() if path.suffix == ".835")


async def _seed_claims(admin_db: asyncpg.Connection, tenant: str, control_numbers: list[str]) -> None:
    await admin_db.executemany(
        "INSERT INTO remittance.submitted_claims (claim_id, tenant_id, claim_control_number, payer_id, "
        "total_charge_cents, currency, submitted_at, patient_id, lines) "
        "VALUES ($1, $2, $3, 'SANDBOX', 15500, 'USD', now(), $4, $5::jsonb)",
        [
            (
                uuid.uuid4(),
                tenant,
                number,
                uuid.uuid4(),
                json.dumps(
                    [
                        {
                            "line_number": 1,
                            "line_control_number": f"{number}-1",
                            "procedure_code": "99213",
                            "modifiers": [],
                            "charge_cents": 15500,
                        }
                    ]
                ),
            )
            for number in control_numbers
        ],
    )


async def test_the_inbound_loop_posts_835s_once_rejects_bad_ones_and_a_reread_changes_nothing(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant, suffix = new_tenant(), uuid.uuid4().hex[:6].upper()
    folder = tmp_path / "clearinghouse"
    (folder / "inbound").mkdir(parents=True)
    good_claims = [paid_claim(f"IN{suffix}{n}") for n in range(3)]
    await _seed_claims(admin_db, tenant, [spec.control_number for spec in good_claims])
    good = remittance_file(good_claims, trace=f"IN{suffix}").encode()
    unbalanced = (
        remittance_file([paid_claim(f"BAD{suffix}")], trace=f"BAD{suffix}")
        .replace("CAS*CO*45*15.00", "CAS*CO*45*14.00")
        .encode()
    )
    write_atomically(folder / "inbound" / "a-remit.835", good)
    write_atomically(folder / "inbound" / "b-unbalanced.835", unbalanced)
    write_atomically(folder / "inbound" / "c-truncated.835", good[: good.index(b"CLP*")])
    write_atomically(folder / "inbound" / "d-ack.999", b"not ours: the claims service takes 999s")

    remittance = await services.start("remittance", **_inbound_env(folder, CLAIMFLOW_REMITTANCE_INBOUND_TENANT=tenant))

    async def box_empty() -> bool:
        return not _waiting_835s(folder)

    await eventually(box_empty, what="the inbound loop to take every 835 out of the box")
    assert (folder / "inbound" / "d-ack.999").exists(), "files other than 835s are left for the claims service"
    assert sorted(path.name for path in (folder / "archive").iterdir()) == [
        "a-remit.835",
        "b-unbalanced.835",
        "c-truncated.835",
    ]
    counts = await _counts(admin_db, tenant)
    assert counts == {
        "remittance_files": 1,
        "claim_payments": 3,
        "ledger_entries": counts["ledger_entries"],
        "outbox": 3,
        "inbound_files": 3,
    }
    totals = await _ledger_totals(admin_db, tenant)
    assert -sum(total for (_, _, kind), total in totals.items() if kind == "payment") == sum(
        spec.paid_cents for spec in good_claims
    )

    read = services.auth(tenant, "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=read, timeout=30) as client:
        listed = (await client.get("/v1/inbound-files")).json()
        by_name = {item["file_name"]: item for item in listed}
        assert {name: item["state"] for name, item in by_name.items()} == {
            "a-remit.835": "posted",
            "b-unbalanced.835": "rejected",
            "c-truncated.835": "rejected",
        }
        assert by_name["a-remit.835"]["remittance_id"] and by_name["a-remit.835"]["rejection"] is None
        unbalanced_reason = by_name["b-unbalanced.835"]["rejection"]
        assert (unbalanced_reason["segment_id"], unbalanced_reason["position"]) == ("SVC", 11)
        assert "does not balance" in unbalanced_reason["reason"]
        truncated_reason = by_name["c-truncated.835"]["rejection"]
        assert truncated_reason["segment_id"] and isinstance(truncated_reason["position"], int)
        rejected = (await client.get("/v1/inbound-files", params={"state": "rejected"})).json()
        assert sorted(item["file_name"] for item in rejected) == ["b-unbalanced.835", "c-truncated.835"]
        other = services.auth(new_tenant(), "remittance:read")
        assert (await client.get("/v1/inbound-files", headers=other)).json() == []

    # A crash between commit and acknowledge leaves the posted file in the box: it is read again.
    shutil.copy(folder / "archive" / "a-remit.835", folder / "inbound" / "a-remit.835")
    await eventually(box_empty, what="the inbound loop to take the re-delivered file")
    assert await _counts(admin_db, tenant) == counts
    assert await _ledger_totals(admin_db, tenant) == totals


def _claim_submitted(tenant: str, control_number: str, patient_id: uuid.UUID) -> EventEnvelope:
    """What the claims service announces for `professional(control_number)` of the synthetic 837."""
    claim_id = uuid.uuid4()
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=control_number,
        payer_id="SYN01",
        claim_type="professional",
        total_charge_cents=15000,
        lines=[
            {
                "line_number": 1,
                "line_control_number": f"{control_number}-L1",
                "procedure_code": "99213",
                "modifiers": [],
                "units": 1,
                "charge_cents": 10000,
            },
            {
                "line_number": 2,
                "line_control_number": f"{control_number}-L2",
                "procedure_code": "81002",
                "modifiers": [],
                "units": 1,
                "charge_cents": 5000,
            },
        ],
        interchange_control_number="000007001",
        submitted_at=dt.datetime.now(dt.UTC),
        patient_id=patient_id,
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def _handle_claim_submitted(services: Pipeline, envelopes: list[EventEnvelope]) -> None:
    """The service's own `claim-submitted` handler, in this process as the remittance role.

    Not through Kafka: the consumer group `remittance` is shared by every remittance process on the
    broker, so on a shared broker another test session's process may be assigned these partitions."""
    engine = create_engine(services.role_url("remittance"), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await on_claim_submitted(session, envelopes)
    finally:
        await engine.dispose()


async def test_the_sandbox_payers_835_for_our_837_is_posted_by_the_service_with_events_once(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant, patient, suffix = new_tenant(), uuid.uuid4(), uuid.uuid4().hex[:6].upper()
    numbers = {outcome: f"S{suffix}-{outcome}" for outcome in ("PAID", "D50", "COINS")}
    envelopes = {number: _claim_submitted(tenant, number, patient) for number in numbers.values()}
    folder = tmp_path / "clearinghouse"
    (folder / "outbound").mkdir(parents=True)
    write_atomically(folder / "outbound" / f"claims-{suffix}.837", x12_837(*map(professional, numbers.values())))
    remittance = await services.start(
        "remittance",
        **_inbound_env(folder, CLAIMFLOW_REMITTANCE_INBOUND_PAYEE_TENANTS=json.dumps({SANDBOX_PAYEE_NPI: tenant})),
    )
    await _handle_claim_submitted(services, list(envelopes.values()))
    starts = {topic: await end_offsets(services.kafka, topic) for topic in (PAYMENT_RECEIVED.name, CLAIM_DENIED.name)}
    answered = FolderClearinghouse(folder).process_once(now=RECEIVED_AT)
    assert sorted(name.rsplit(".", 1)[1] for name in answered) == ["277CA", "835", "999"]

    async def posted() -> bool:
        query = "SELECT count(*) FROM remittance.inbound_files WHERE tenant_id = $1 AND state = 'posted'"
        return not _waiting_835s(folder) and int(await admin_db.fetchval(query, tenant)) == 1

    await eventually(posted, what="the sandbox's 835 to be posted from the inbound box")
    left = sorted(path.name.rsplit(".", 1)[1] for path in (folder / "inbound").iterdir() if path.is_file())
    assert left == ["277CA", "999"], "the claims service's answers stay in the box"

    claim_ids = {number: envelope.subject for number, envelope in envelopes.items()}
    read = services.auth(tenant, "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=read, timeout=30) as client:
        expected = {"PAID": (15000, 0, 0), "D50": (0, 15000, 0), "COINS": (9600, 3000, 2400)}
        for outcome, number in numbers.items():
            ledger = (await client.get(f"/v1/claims/{claim_ids[number]}/ledger")).json()
            assert ledger["balanced"] and ledger["open_cents"] == 0, (outcome, ledger["open_cents"])
            paid, adjusted, patient_share = expected[outcome]
            assert (ledger["paid_cents"], ledger["adjustment_cents"], ledger["patient_responsibility_cents"]) == (
                paid,
                adjusted,
                patient_share,
            ), outcome
            assert {entry["line_number"] for entry in ledger["entries"] if entry["kind"] == "adjustment"} <= {1, 2}
        assert (await client.get(f"/v1/accounts/{patient}")).json()["balance_cents"] == 2400

    async def outbox_drained() -> bool:
        query = "SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1 AND published_at IS NULL"
        return int(await admin_db.fetchval(query, tenant)) == 0

    await eventually(outbox_drained, what="the relay to publish the events")
    received = await read_from(services.kafka, starts[PAYMENT_RECEIVED.name])
    mine = [r for r in received if dict(r.headers).get("ce_tenant") == tenant.encode()]
    assert Counter(r.key.decode() for r in mine) == Counter(claim_ids.values())
    denied = await read_from(services.kafka, starts[CLAIM_DENIED.name])
    assert [r.key.decode() for r in denied if dict(r.headers).get("ce_tenant") == tenant.encode()] == [
        claim_ids[numbers["D50"]]
    ]
