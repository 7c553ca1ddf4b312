"""Two remittance replicas as real processes reading one inbound box and taking the same uploads at once: every
claim payment is posted once, every file recorded once, the ledger holds each payment once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.clearinghouse.file_drop import write_atomically
from tests.support.ledger import ledger_totals
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.remittance_builder import ClaimSpec, paid_claim, remittance_file

pytestmark = pytest.mark.integration
CLAIMS_PER_FILE = 25
X12 = {"content-type": "application/edi-x12"}


async def _submitted(admin_db: asyncpg.Connection, tenant: str, claims: list[ClaimSpec]) -> None:
    """The claims as remittance knows them once `claim-submitted` is consumed (its own table)."""
    await admin_db.executemany(
        "INSERT INTO remittance.submitted_claims (claim_id, tenant_id, claim_control_number, payer_id, "
        "total_charge_cents, currency, submitted_at, patient_id, lines) "
        "VALUES ($1, $2, $3, 'SANDBOX', $4, 'USD', now(), $5, $6::jsonb)",
        [
            (
                uuid.uuid4(),
                tenant,
                claim.control_number,
                claim.charge_cents,
                uuid.uuid4(),
                json.dumps(
                    [
                        {
                            "line_number": number,
                            "line_control_number": line.control_number,
                            "procedure_code": line.procedure,
                            "modifiers": list(line.modifiers),
                            "charge_cents": line.charge_cents,
                        }
                        for number, line in enumerate(claim.lines, start=1)
                    ]
                ),
            )
            for claim in claims
        ],
    )


async def test_two_remittance_replicas_post_each_payment_once(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant, run = new_tenant(), uuid.uuid4().hex[:6].upper()
    files = {
        f"R{run}F{index}": [paid_claim(f"R{run}F{index}C{number}") for number in range(CLAIMS_PER_FILE)]
        for index in range(6)
    }
    await _submitted(admin_db, tenant, [claim for claims in files.values() for claim in claims])
    bodies = {trace: remittance_file(claims, trace=trace).encode() for trace, claims in files.items()}
    folder = tmp_path / "clearinghouse"
    (folder / "inbound").mkdir(parents=True)
    boxed, uploaded = list(bodies)[:4], list(bodies)[4:]
    for trace in boxed:
        write_atomically(folder / "inbound" / f"{trace}.835", bodies[trace])

    replicas = await services.start_replicas(
        "remittance",
        2,
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
        CLAIMFLOW_REMITTANCE_INBOUND_TENANT=tenant,
        CLAIMFLOW_REMITTANCE_INBOUND_INTERVAL_S="0.1",
    )
    write = services.auth(tenant, "remittance:write")
    async with httpx.AsyncClient(headers={**write, **X12}, timeout=60) as client:
        answers = await asyncio.gather(
            *(
                client.post(f"{replica.base_url}/v1/remittances", content=bodies[trace])
                for trace in uploaded
                for replica in replicas  # the same file to both replicas at the same moment
            )
        )
    by_file = Counter((trace, answer.status_code) for trace, answer in zip(
        [trace for trace in uploaded for _ in replicas], answers, strict=True
    ))  # fmt: skip
    assert by_file == Counter({(trace, code): 1 for trace in uploaded for code in (200, 201)}), [
        answer.text for answer in answers if answer.status_code not in (200, 201)
    ]

    async def box_empty() -> bool:
        return not any((folder / "inbound").iterdir())

    await eventually(box_empty, what="the replicas to take every 835 out of the box")
    payments = await admin_db.fetch(
        "SELECT trace_number, claim_control_number, state, paid_cents FROM remittance.claim_payments "
        "WHERE tenant_id = $1",
        tenant,
    )
    expected = {(trace, claim.control_number) for trace, claims in files.items() for claim in claims}
    assert Counter((row["trace_number"], row["claim_control_number"]) for row in payments) == Counter(expected)
    assert {row["state"] for row in payments} == {"posted"}
    assert await admin_db.fetchval(
        "SELECT count(*) FROM remittance.remittance_files WHERE tenant_id = $1", tenant
    ) == len(files)
    paid = sum(claim.paid_cents for claims in files.values() for claim in claims)
    totals = await ledger_totals(admin_db, tenant)
    assert -sum(total for (_, _, kind), total in totals.items() if kind == "payment") == paid
    assert sum(row["paid_cents"] for row in payments) == paid
    events = await admin_db.fetchval(
        "SELECT count(*) FROM remittance.outbox WHERE tenant_id = $1 AND event_type = 'payment-received.v1'", tenant
    )
    assert events == len(expected)
    assert all(replica.process is not None and replica.process.poll() is None for replica in replicas)
