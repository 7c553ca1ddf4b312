"""Eligibility against real processes: intake writes 270s into a file-drop folder, the sandbox
answers with 271s, intake's background loop stores the answers (active; AAA 72 for a BAD member id)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sandbox.clearinghouse import FolderClearinghouse
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration
ADDRESS = {"line1": "1 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "postal_code": "62701"}
SCOPES = ("patients:write", "patients:read", "providers:write", "payers:write", "eligibility:write", "eligibility:read")


async def register(client: httpx.AsyncClient, member_id: str, mrn: str) -> tuple[str, str]:
    payer = {"payer_id": "SANDBOX", "name": "SANDBOX HEALTH PLAN", "claim_filing_indicator": "CI",
             "timely_filing_days": 365, "appeal_days": 180}  # fmt: skip
    provider = {"npi": "1234567893", "entity": "organization", "name": "SYNTHETIC CLINIC"}
    patient = {"external_patient_id": mrn, "last_name": "DOE", "first_name": "JANE", "birth_date": "1980-01-01",
               "sex": "F", "address": ADDRESS}  # fmt: skip
    for path, body in (("/v1/payers", payer), ("/v1/providers", provider)):
        assert (await client.post(path, json=body)).status_code in (200, 201)
    created = await client.post("/v1/patients", json=patient)
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    coverage = {"payer_id": "SANDBOX", "priority": "primary", "member_id": member_id}
    made = await client.post(f"/v1/patients/{patient_id}/coverages", json=coverage)
    assert made.status_code == 201, made.text
    return patient_id, made.json()["id"]


async def test_checks_are_sent_answered_by_the_sandbox_and_stored_once(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    folder = tmp_path / "clearinghouse"
    intake = await services.start(
        "intake",
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
        CLAIMFLOW_ELIGIBILITY_COLLECT_INTERVAL_S="0.2",
    )
    tenant = new_tenant()
    async with httpx.AsyncClient(base_url=intake.base_url, headers=services.auth(tenant, *SCOPES)) as client:
        good = await register(client, "SYN0001", "MRN-E1")
        bad = await register(client, "BAD0001", "MRN-E2")
        checks: dict[str, dict[str, Any]] = {}
        for name, (patient_id, coverage_id) in (("good", good), ("bad", bad)):
            posted = await client.post(
                f"/v1/patients/{patient_id}/coverages/{coverage_id}/eligibility-checks",
                json={"provider_npi": "1234567893", "service_date": "2026-03-02"},
            )
            assert posted.status_code == 202, posted.text
            assert posted.json()["state"] == "sent" and posted.json()["answer"] is None
            checks[name] = posted.json()

        # the 270s are in the folder, with unique, persisted control numbers
        sent = sorted(p.name for p in (folder / "outbound").iterdir())
        assert sent == sorted(f"270-{c['id'].replace('-', '')}.x12" for c in checks.values())
        numbers = {c["interchange_control_number"] for c in checks.values()}
        assert len(numbers) == 2
        stored = await admin_db.fetch(
            "SELECT interchange_control_number FROM intake.eligibility_checks WHERE tenant_id = $1", tenant
        )
        assert {r[0] for r in stored} == numbers

        # scopes and tenants
        reader = services.auth(tenant, "patients:read")
        assert (await client.get(f"/v1/eligibility-checks/{checks['good']['id']}", headers=reader)).status_code == 403
        other = services.auth(new_tenant(), *SCOPES)
        assert (await client.get(f"/v1/eligibility-checks/{checks['good']['id']}", headers=other)).status_code == 404

        assert len(FolderClearinghouse(folder).process_once(dt.datetime(2026, 3, 2, 10, 0))) == 2

        async def answered() -> dict[str, Any] | None:
            got = {n: (await client.get(f"/v1/eligibility-checks/{c['id']}")).json() for n, c in checks.items()}
            return got if all(g["state"] != "sent" for g in got.values()) else None

        final = await eventually(answered, what="both checks answered")
    active, rejected = final["good"], final["bad"]
    assert active["state"] == "active"
    assert (active["answer"]["plan_begin"], active["answer"]["plan_end"]) == ("2026-01-01", "2026-12-31")
    assert any(b["code"] == "B" and b["amount"] == "25" for b in active["answer"]["benefits"])
    assert rejected["state"] == "rejected" and rejected["answer"]["benefits"] == []
    assert [r["reason_code"] for r in rejected["answer"]["rejections"]] == ["72"]

    # both 271s were acknowledged (archived); putting one back changes nothing
    archived = sorted((folder / "archive").iterdir())
    assert len(archived) == 2 and list((folder / "inbound").iterdir()) == []
    before = await admin_db.fetch("SELECT * FROM intake.eligibility_checks WHERE tenant_id = $1 ORDER BY id", tenant)
    archived[0].rename(folder / "inbound" / archived[0].name)

    async def taken_again() -> bool:
        return not list((folder / "inbound").iterdir())

    await eventually(taken_again, what="the repeated 271 acknowledged")
    after = await admin_db.fetch("SELECT * FROM intake.eligibility_checks WHERE tenant_id = $1 ORDER BY id", tenant)
    assert [dict(r) for r in after] == [dict(r) for r in before]
    log = intake.log_tail(100_000)
    assert "BAD0001" not in log and "SYN0001" not in log and "DOE" not in log
