"""The whole loop in real processes with real Kafka and Postgres: parties registered and encounters
posted to intake over HTTP; claims writes 837s into a file-drop folder; the sandbox clearinghouse
answers; claims takes the 999/277CA and accepts the claims; remittance posts the 835s; claims end
paid / partially paid, and the patient with secondary coverage gets a secondary claim that goes out
too. Every 837 the sandbox received validates in pyx12 with zero errors.

The sandbox answers in a folder of its own; the test hands its files to the services' inbound box
in two steps (acknowledgments, then remittances) so the order the assertions see is fixed.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sandbox.clearinghouse import FolderClearinghouse
from sandbox.rules import DEFAULT_RULES, AdjudicationRule, Match, Outcome
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.file_drop import file_drop, start_billing_loop
from tests.support.intake_builders import registered_encounter as encounter
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration
WRITE = ("patients:write", "patients:read", "providers:write", "payers:write", "encounters:write", "encounters:read")
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
COINSURANCE = AdjudicationRule(
    "coinsurance-99213",
    Match(procedure_codes=frozenset({"99213"})),
    Outcome(allowed_basis_points=8000, coinsurance_basis_points=2000),
    "Office visits: 80% allowed, 20% coinsurance (the patient, or the secondary payer, owes it)",
)


async def register(client: httpx.AsyncClient) -> None:
    """Two payers, a billing organization (ZIP+4), a rendering clinician; two synthetic patients, one
    with a primary coverage only, one with a primary and a secondary."""
    for payer_id, name in (("SANDBOX", "SANDBOX HEALTH PLAN"), ("SANDBOX2", "SANDBOX SECONDARY PLAN")):
        payer = {"payer_id": payer_id, "name": name, "claim_filing_indicator": "CI",
                 "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
        assert (await client.post("/v1/payers", json=payer)).status_code in (200, 201)
    zip_plus_4 = ADDRESS | {"postal_code": "627010001"}  # the 837 wants the billing provider's ZIP+4
    billing = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC", "tax_id": "990000001",
               "tax_id_type": "EIN", "address": zip_plus_4, "taxonomy": "207Q00000X"}  # fmt: skip
    rendering = {"npi": "1987654328", "entity": "individual", "name": "SMITH", "first_name": "ALEX"}
    for body in (billing, rendering):
        assert (await client.post("/v1/providers", json=body)).status_code in (200, 201)
    for mrn, coverages in (
        ("MRN-E2E-1", [("SANDBOX", "primary", "SYN0000011")]),
        ("MRN-E2E-2", [("SANDBOX", "primary", "SYN0000021"), ("SANDBOX2", "secondary", "SYN0000022")]),
    ):
        patient = {"external_patient_id": mrn, "last_name": "DOE", "first_name": "SAM", "birth_date": "1980-01-01",
                   "sex": "F", "address": ADDRESS}  # fmt: skip
        created = await client.post("/v1/patients", json=patient)
        assert created.status_code == 201, created.text
        for payer_id, priority, member_id in coverages:
            coverage = {"payer_id": payer_id, "priority": priority, "member_id": member_id}
            response = await client.post(f"/v1/patients/{created.json()['id']}/coverages", json=coverage)
            assert response.status_code == 201, response.text


def move_answers(sandbox: Path, inbound: Path, suffixes: tuple[str, ...]) -> int:
    moved = 0
    for path in sorted((sandbox / "inbound").iterdir()):
        if path.suffix in suffixes:
            shutil.move(path, inbound / path.name)
            moved += 1
    return moved


def answer(sandbox_folder: Path, outbound: Path) -> FolderClearinghouse:
    """The sandbox takes every 837 claims dropped (277CA/999/835 stay in its own inbound for now)."""
    for path in sorted(outbound.glob("837-*.x12")):
        shutil.move(path, sandbox_folder / "outbound" / path.name)
    sandbox = FolderClearinghouse(sandbox_folder, (COINSURANCE, *DEFAULT_RULES))
    sandbox.process_once()
    return sandbox


async def test_encounters_over_http_come_back_accepted_paid_and_billed_to_the_secondary(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant = new_tenant()
    drop = file_drop(tmp_path)
    folder, sandbox_folder = drop.folder, drop.sandbox_folder
    started = await start_billing_loop(services, tenant, drop)
    intake = started["intake"]
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=services.auth(tenant, *WRITE)) as client:
        await register(client)
        for body in (
            encounter("E2E-1", "MRN-E2E-1", day, "99213", 12500),  # coinsurance: partially paid, patient owes
            encounter("E2E-2", "MRN-E2E-1", day, "87880", 3000),  # contracted: paid
            encounter("E2E-3", "MRN-E2E-2", day, "99213", 15000),  # coinsurance, secondary coverage
        ):
            response = await client.post("/v1/encounters", json=body)
            assert response.status_code == 201 and response.json()["unresolved"] == [], response.text

    async def claims_in(*states: str, primaries: bool = True) -> list[Any]:
        rows = await admin_db.fetch(
            "SELECT id, state, primary_claim_id, payer_id, encounter_id FROM claims.claims WHERE tenant_id = $1 "
            "ORDER BY created_at",
            tenant,
        )
        rows = [r for r in rows if (r["primary_claim_id"] is None) == primaries]
        return rows if len(rows) == (3 if primaries else 1) and all(r["state"] in states for r in rows) else []

    await eventually(lambda: claims_in("submitted"), timeout_s=60, what="three claims submitted")
    sandbox = answer(sandbox_folder, folder / "outbound")
    assert move_answers(sandbox_folder, folder / "inbound", (".999", ".277CA")) >= 2
    await eventually(lambda: claims_in("accepted"), what="the 999/277CA to accept every claim")

    async def remittance_knows_them() -> bool:
        known = "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1"
        return bool(await admin_db.fetchval(known, tenant) == 3)

    # An 835 comes days after the claim; here remittance must first have taken claim-submitted.
    await eventually(remittance_knows_them, timeout_s=60, what="remittance to take the three claim-submitted")
    # One 835 per 837 file the sandbox took: a batching round may have sent the three claims in one file
    # or in several, depending on when each claim-submitted arrived; every claim is checked below.
    assert move_answers(sandbox_folder, folder / "inbound", (".835",)) >= 1
    primaries = await eventually(lambda: claims_in("paid", "partially_paid"), timeout_s=60, what="835 posted")
    states = {str(r["encounter_id"]): r["state"] for r in primaries}
    assert sorted(states.values()) == ["paid", "partially_paid", "partially_paid"]

    (secondary,) = await eventually(
        lambda: claims_in("submitted", primaries=False), timeout_s=60, what="the secondary claim sent"
    )
    assert secondary["payer_id"] == "SANDBOX2"
    answer(sandbox_folder, folder / "outbound")
    move_answers(sandbox_folder, folder / "inbound", (".999", ".277CA"))
    await eventually(lambda: claims_in("accepted", primaries=False), what="the secondary accepted")

    received = sorted((sandbox_folder / ".sandbox" / "received").glob("837-*.x12"))
    assert len(received) >= 2
    texts = [path.read_text() for path in received]
    for text in texts:
        assert list(validate_with_pyx12(text)) == []
    assert any("SBR*S*" in text and "AMT*D*" in text and "AMT*EAF*" in text for text in texts)
    assert not (sandbox.private / "unreadable").exists() or not any((sandbox.private / "unreadable").iterdir())
