"""A large file's claim payments go in by COPY (`ClaimPaymentRepository._copy_new`), which cannot skip a payment
key already taken the way the insert's ON CONFLICT does: the keys its checks already hold are left out first, and
a key a concurrent posting commits meanwhile makes the COPY fail under a savepoint and the insert take over. Either
way each claim payment is stored once and the second file counts them as duplicates."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import asyncpg
import pytest

from services.remittance.repository import COPY_PAYMENTS_AT_LEAST
from shared.db import create_engine, create_sessionmaker, unit_of_work
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.posting import post_file
from tests.support.remittance_builder import paid_claim, remittance_file

pytestmark = pytest.mark.integration

CLAIMS = COPY_PAYMENTS_AT_LEAST + 20
"""Enough claim payments for COPY."""


def _check(interchange: str) -> bytes:
    """The same check (payer, TRN02) in another interchange: other bytes, the same payment keys."""
    claims = [paid_claim(f"CP{n:05d}") for n in range(CLAIMS)]
    return remittance_file(claims, trace="COPYTRACE", interchange_control=interchange).encode()


async def _submit(admin_db: asyncpg.Connection, tenant: str) -> None:
    """The check's claims as `claim-submitted` leaves them (one patient), so its payments post to them."""
    patient = uuid.uuid4()
    lines = [
        {"line_number": 1, "line_control_number": "{n}-1", "procedure_code": "99213", "charge_cents": 12500},
        {"line_number": 2, "line_control_number": "{n}-2", "procedure_code": "87880", "charge_cents": 3000},
    ]
    await admin_db.copy_records_to_table(
        "submitted_claims",
        schema_name="remittance",
        columns=["claim_id", "tenant_id", "claim_control_number", "payer_id", "total_charge_cents", "currency"]
        + ["patient_id", "lines", "submitted_at"],
        records=[
            (
                uuid.uuid4(),
                tenant,
                f"CP{n:05d}",
                "SANDBOX",
                15500,
                "USD",
                patient,
                json.dumps(lines).replace("{n}", f"CP{n:05d}"),
                dt.datetime.now(dt.UTC),
            )
            for n in range(CLAIMS)
        ],
    )


async def _payments(admin_db: asyncpg.Connection, tenant: str) -> int:
    return int(await admin_db.fetchval("SELECT count(*) FROM remittance.claim_payments WHERE tenant_id = $1", tenant))


async def test_a_check_sent_again_in_another_file_is_copied_once(
    pipeline: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    engine = create_engine(pipeline.role_url("remittance"), pool_size=1)
    sessions = create_sessionmaker(engine)
    try:
        results = []
        for body in (_check("000000801"), _check("000000802")):
            async with unit_of_work(sessions) as session:
                result, created = await post_file(session, tenant=tenant, body=body)
                assert created
                results.append(result)
    finally:
        await engine.dispose()
    first, second = results
    assert (first.suspended, first.duplicates) == (CLAIMS, 0)  # no claim submitted: every payment waits in suspense
    assert (second.suspended, second.duplicates) == (0, CLAIMS)
    assert await _payments(admin_db, tenant) == CLAIMS


async def test_a_key_committed_by_a_concurrent_posting_is_skipped_not_failed(
    pipeline: Pipeline, admin_db: asyncpg.Connection
) -> None:
    """The first file is posted but not committed when the second one's COPY reaches the same keys: the COPY waits,
    fails once the first commits, and the insert that skips taken keys posts the second file. Its ledger entries
    and events, made ahead on the assumption that every payment is new, are not written: only the first file's."""
    tenant = new_tenant()
    await _submit(admin_db, tenant)
    engine = create_engine(pipeline.role_url("remittance"), pool_size=2)
    sessions = create_sessionmaker(engine)
    first_body, second_body = _check("000000811"), _check("000000812")

    async def second_file() -> tuple[int, int, int]:
        async with unit_of_work(sessions) as session:
            result, _ = await post_file(session, tenant=tenant, body=second_body)
            return result.posted, result.suspended, result.duplicates

    try:
        async with unit_of_work(sessions) as session:
            first, _ = await post_file(session, tenant=tenant, body=first_body)
            assert (first.posted, first.suspended) == (CLAIMS, 0)
            second = asyncio.create_task(second_file())

            async def second_waits_for_the_first() -> bool:
                waiting = await admin_db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'COPY %claim_payments%'"
                )
                return int(waiting) > 0

            await eventually(second_waits_for_the_first, what="the second file's COPY to wait on the first's keys")
        assert await second == (0, 0, CLAIMS)
    finally:
        await engine.dispose()
    assert await _payments(admin_db, tenant) == CLAIMS
    entries = await admin_db.fetch(
        "SELECT account_type, kind, sum(amount_cents) AS cents, count(*) AS entries FROM remittance.ledger_entries "
        "WHERE tenant_id = $1 GROUP BY account_type, kind ORDER BY account_type, kind",
        tenant,
    )
    paid = paid_claim("CP00000")  # every claim of the check is paid alike: 12500 - 1500 - 2000 and 3000
    assert [(e["account_type"], e["kind"], e["cents"], e["entries"]) for e in entries] == [
        ("claim", "adjustment", -1500 * CLAIMS, CLAIMS),
        ("claim", "patient_responsibility", -2000 * CLAIMS, CLAIMS),
        ("claim", "payment", -paid.paid_cents * CLAIMS, CLAIMS),
        ("patient", "patient_responsibility", 2000 * CLAIMS, CLAIMS),
    ]
    events = await admin_db.fetchval(
        "SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1 AND event_type = 'payment-received.v1'", tenant
    )
    assert events == CLAIMS
