"""Denials and appeals in real processes against real Kafka and Postgres: encounters over HTTP to intake,
claims writes 837s into a file drop, the sandbox payer denies four of them and underpays a fifth,
remittance posts its 835, and the denials service opens classified cases with due dates. Then the work:
a corrected claim (frequency 7, REF*F8, pyx12-clean) that the sandbox pays closes its case as overturned;
an appeal letter is a PDF naming the claim and the CARC and goes through the clearinghouse; a write-off
and a transfer to the patient, each sent twice, change the ledgers once; KPIs count it all.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pypdf import PdfReader

from sandbox.clearinghouse import FolderClearinghouse
from sandbox.rules import DEFAULT_RULES, AdjudicationRule, Match, Outcome
from services.denials.domain.code_lists import CodeListKind, parse_code_list
from services.denials.reference_data import replace_code_list
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.integration.test_end_to_end import move_answers, register
from tests.support.file_drop import file_drop, start_billing_loop
from tests.support.intake_builders import registered_encounter as encounter
from tests.support.pipeline import Pipeline, eventually, new_tenant

pytestmark = pytest.mark.integration
WRITE = ("patients:write", "patients:read", "providers:write", "payers:write", "encounters:write", "encounters:read")
DENIALS = ("denials:read", "denials:write")
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "denials" / "fixtures"
ORIGINALS = frozenset({"1"})
RULES = (
    AdjudicationRule(
        "missing-information-99214",
        Match(procedure_codes=frozenset({"99214"}), frequency_codes=ORIGINALS),
        Outcome(denial=("CO", "16"), claim_remarks=("MA130",)),
        "Lacks information; no appeal rights (MA130): a corrected claim is paid",
    ),
    AdjudicationRule(
        "medical-necessity-99215",
        Match(procedure_codes=frozenset({"99215"}), frequency_codes=ORIGINALS),
        Outcome(denial=("CO", "50"), remarks=("N115",)),
        "Not medically necessary",
    ),
    AdjudicationRule(
        "bundled-99212",
        Match(procedure_codes=frozenset({"99212"})),
        Outcome(denial=("CO", "97"), remarks=("M15",)),
        "Included in another service",
    ),
    AdjudicationRule(
        "not-covered-99211",
        Match(procedure_codes=frozenset({"99211"})),
        Outcome(denial=("CO", "96"), remarks=("N130",)),
        "Non-covered charge",
    ),
    *DEFAULT_RULES,
)


def answer(sandbox_folder: Path, outbound: Path) -> None:
    """The sandbox takes the 837s and appeal letters the services dropped, and answers them."""
    for path in sorted([*outbound.glob("837-*.x12"), *outbound.glob("APPEAL-*.pdf")]):
        shutil.move(path, sandbox_folder / "outbound" / path.name)
    FolderClearinghouse(sandbox_folder, RULES).process_once()


async def test_denials_are_classified_worked_and_closed_by_the_payer(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant = new_tenant()
    drop = file_drop(tmp_path)
    folder, sandbox_folder = drop.folder, drop.sandbox_folder
    for code_list, name in ((CodeListKind.CARC, "carc.txt"), (CodeListKind.RARC, "rarc.txt")):
        codes = parse_code_list((FIXTURES / name).read_text(), code_list)
        assert await replace_code_list(services.role_url("denials"), code_list.value, codes) == len(codes)
    more = {"denials": {"CLAIMFLOW_DENIALS_APPEAL_INTERVAL_S": "0.2", **drop.env}}
    started = await start_billing_loop(services, tenant, drop, more)
    intake = started["intake"]
    denials = started["denials"]
    api = httpx.AsyncClient(base_url=denials.base_url, headers=services.auth(tenant, *DENIALS), timeout=60)
    contract = {"rates": [{"payer_id": "SANDBOX", "procedure_code": "87880", "allowed_cents": 2_800}]}
    assert (await api.put("/v1/contract-rates", json=contract)).json() == {"loaded": 1}

    served = dt.date.today() - dt.timedelta(days=3)
    async with httpx.AsyncClient(base_url=intake.base_url, headers=services.auth(tenant, *WRITE), timeout=60) as client:
        await register(client)
        for number, (procedure, charge) in enumerate(
            [("99214", 20_000), ("99215", 25_000), ("99212", 9_000), ("99211", 4_000), ("87880", 3_000)], start=1
        ):
            body = encounter(f"DEN-{number}", "MRN-E2E-1", served.isoformat(), procedure, charge)
            response = await client.post("/v1/encounters", json=body)
            assert response.status_code == 201 and response.json()["unresolved"] == [], response.text

    async def claims(*states: str, count: int = 5) -> list[Any]:
        rows = await admin_db.fetch(
            "SELECT id, state, claim_control_number, frequency_code FROM claims.claims WHERE tenant_id = $1 "
            "ORDER BY created_at",
            tenant,
        )
        return rows if len(rows) == count and all(r["state"] in states for r in rows) else []

    async def remittance_knows(count: int) -> bool:
        known = "SELECT count(*) FROM remittance.submitted_claims WHERE tenant_id = $1"
        return bool(await admin_db.fetchval(known, tenant) == count)

    await eventually(lambda: claims("submitted"), timeout_s=90, what="five claims submitted")
    answer(sandbox_folder, folder / "outbound")
    move_answers(sandbox_folder, folder / "inbound", (".999", ".277CA"))
    await eventually(lambda: claims("accepted"), timeout_s=60, what="the 277CA to accept every claim")
    await eventually(lambda: remittance_knows(5), timeout_s=60, what="remittance to take claim-submitted")
    assert move_answers(sandbox_folder, folder / "inbound", (".835",)) >= 1  # one per 837 file

    async def queue(**params: Any) -> list[dict[str, Any]]:
        response = await api.get("/v1/denial-cases", params=params)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def five_cases() -> list[dict[str, Any]]:
        cases = await queue()
        return cases if len(cases) == 5 else []

    cases = await eventually(five_cases, timeout_s=60, what="four denial cases and one underpayment case")
    by_carc = {case["carcs"][0] if case["kind"] == "denial" else "underpaid": case for case in cases}
    recoveries = [case["expected_recovery_cents"] for case in cases]
    assert recoveries == sorted(recoveries, reverse=True), "queue ordered by expected recovery"

    missing = by_carc["16"]
    assert (missing["root_cause"], missing["recommended_action"], missing["owner"]) == (
        "missing_invalid_information",
        "corrected_claim",
        "biller",
    )
    assert missing["appealable"] is False and missing["rarcs"] == ["MA130"]
    assert missing["due_date"] == (served + dt.timedelta(days=90)).isoformat(), "timely filing from the service date"
    assert missing["due_flag"] == "on_time" and missing["denied_cents"] == 20_000
    necessity = by_carc["50"]
    assert (necessity["root_cause"], necessity["recommended_action"]) == ("medical_necessity", "appeal")
    assert (
        necessity["due_date"] == (dt.date.fromisoformat(necessity["remitted_on"]) + dt.timedelta(days=180)).isoformat()
    )
    assert by_carc["97"]["root_cause"] == "coding_bundling" and by_carc["96"]["root_cause"] == "non_covered_service"
    underpaid = by_carc["underpaid"]
    assert (underpaid["kind"], underpaid["root_cause"]) == ("underpayment", "pricing_underpayment")
    assert (underpaid["expected_cents"], underpaid["paid_cents"], underpaid["denied_cents"]) == (2_800, 2_400, 400)
    assert [c["id"] for c in await queue(root_cause="medical_necessity")] == [necessity["id"]]
    assert [c["id"] for c in await queue(carc="97", owner="coder")] == [by_carc["97"]["id"]]
    assigned = await api.put(f"/v1/denial-cases/{missing['id']}/assignment", json={"assignee": "biller-7"})
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "biller-7"
    assert [c["id"] for c in await queue(assignee="biller-7")] == [missing["id"]]
    note = await api.post(f"/v1/denial-cases/{missing['id']}/notes", json={"text": "MA130: resubmit with REF*G1"})
    assert note.status_code == 201
    assert [h["entry"] for h in (await api.get(f"/v1/denial-cases/{missing['id']}/history")).json()] == [
        "opened",
        "assigned",
        "note",
    ]
    assert await queue(min_age_days=1) == [] and len(await queue(max_age_days=0)) == 5
    assert {c["id"] for c in await queue(due_within_days=100)} == {missing["id"], by_carc["97"]["id"]}
    detail = (await api.get(f"/v1/denial-cases/{missing['id']}")).json()
    assert detail["code_descriptions"]["RARC MA130"].startswith("Your claim contains incomplete")
    assert detail["history"][0]["entry"] == "opened"

    # No appeal where the remark code says none is possible; the corrected claim instead, sent twice.
    refused = await api.post(
        f"/v1/denial-cases/{missing['id']}/actions", json={"kind": "appeal"}, headers={"Idempotency-Key": "a-16"}
    )
    assert refused.status_code == 409 and "MA130" in refused.text
    corrected = [
        await api.post(
            f"/v1/denial-cases/{missing['id']}/actions",
            json={"kind": "corrected_claim"},
            headers={"Idempotency-Key": "fix-16"},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in corrected] == [201, 200] and corrected[0].json() == corrected[1].json()

    replacement = await eventually(
        lambda: claims("submitted", "accepted", "denied", "paid", "partially_paid", count=6),
        timeout_s=60,
        what="one replacement claim submitted",
    )
    assert [r["frequency_code"] for r in replacement].count("7") == 1
    await eventually(lambda: remittance_knows(6), timeout_s=60, what="remittance to take the replacement")
    answer(sandbox_folder, folder / "outbound")
    move_answers(sandbox_folder, folder / "inbound", (".999", ".277CA"))
    assert move_answers(sandbox_folder, folder / "inbound", (".835",)) == 1

    async def closed(case_id: str) -> dict[str, Any] | None:
        case = (await api.get(f"/v1/denial-cases/{case_id}")).json()
        return case if case["status"] not in ("open", "pending_payer", "upheld") else None

    overturned = await eventually(lambda: closed(missing["id"]), timeout_s=60, what="the corrected claim paid")
    assert (overturned["status"], overturned["recovered_cents"]) == ("overturned", 16_000)
    assert overturned["corrected_claim_control_number"] is not None
    received = sorted((sandbox_folder / ".sandbox" / "received").glob("837-*.x12"))
    texts = [path.read_text() for path in received]
    (sent,) = [text for text in texts if ":7*" in text]
    assert f"REF*F8*{overturned['payer_claim_control_number']}~" in sent
    for text in texts:
        assert list(validate_with_pyx12(text)) == []

    # An appeal: a letter in PDF and text, stored with the case, sent through the clearinghouse.
    appeal = await api.post(
        f"/v1/denial-cases/{necessity['id']}/actions", json={"kind": "appeal"}, headers={"Idempotency-Key": "ap-50"}
    )
    assert appeal.status_code == 201, appeal.text
    letters = (await api.get(f"/v1/denial-cases/{necessity['id']}")).json()["appeal_letters"]
    pdf = (await api.get(letters[0]["pdf_url"])).content
    assert pdf.startswith(b"%PDF-")
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert necessity["claim_control_number"] in extracted and "CARC 50" in extracted
    assert "medical necessity" in extracted
    await eventually(
        lambda: admin_db.fetchval("SELECT count(*) = 1 FROM denials.appeal_letters WHERE sent_at IS NOT NULL"),
        what="the letter sent",
    )
    assert (folder / "outbound" / letters[0]["file_name"]).read_bytes() == pdf

    # The sandbox upholds a level-1 medical-necessity appeal: the case proposes level 2, which it pays.
    answer(sandbox_folder, folder / "outbound")
    assert move_answers(sandbox_folder, folder / "inbound", (".835",)) == 1

    async def upheld() -> dict[str, Any] | None:
        case = (await api.get(f"/v1/denial-cases/{necessity['id']}")).json()
        return case if case["status"] == "upheld" else None

    case = await eventually(upheld, timeout_s=60, what="the level-1 appeal upheld")
    assert (case["appeal_level"], case["recommended_action"]) == (2, "appeal")
    assert case["appeal_letters"][0]["answer"] == "upheld"
    second = await api.post(
        f"/v1/denial-cases/{necessity['id']}/actions", json={"kind": "appeal"}, headers={"Idempotency-Key": "ap-50-2"}
    )
    assert second.status_code == 201, second.text
    await eventually(
        lambda: admin_db.fetchval("SELECT count(*) = 2 FROM denials.appeal_letters WHERE sent_at IS NOT NULL"),
        what="the level-2 letter sent",
    )
    answer(sandbox_folder, folder / "outbound")
    assert move_answers(sandbox_folder, folder / "inbound", (".835",)) == 1
    won = await eventually(lambda: closed(necessity["id"]), timeout_s=60, what="the level-2 appeal paid")
    assert (won["status"], won["recovered_cents"], won["appeal_level"]) == ("overturned", 20_000, 2)

    # A write-off and a transfer, each sent twice: the ledgers change once.
    for case, kind in ((by_carc["97"], "write_off"), (by_carc["96"], "transfer_to_patient")):
        for _ in range(2):
            response = await api.post(
                f"/v1/denial-cases/{case['id']}/actions", json={"kind": kind}, headers={"Idempotency-Key": f"k-{kind}"}
            )
            assert response.status_code in (200, 201), response.text
        again = await api.post(
            f"/v1/denial-cases/{case['id']}/actions", json={"kind": kind}, headers={"Idempotency-Key": f"new-{kind}"}
        )
        assert again.status_code == 409, "a closed case takes no second write-off"

    async def denial_entries() -> list[Any]:
        rows = await admin_db.fetch(
            "SELECT account_type, kind, amount_cents, carc FROM remittance.ledger_entries "
            "WHERE tenant_id = $1 AND source_key LIKE 'denial-action:%' ORDER BY id",
            tenant,
        )
        return rows if len(rows) == 5 else []

    entries = await eventually(denial_entries, timeout_s=60, what="the write-off and the transfer posted")
    assert sorted((r["account_type"], r["kind"], r["amount_cents"]) for r in entries) == sorted(
        [
            ("claim", "adjustment", 9_000),
            ("claim", "adjustment", -9_000),
            ("claim", "adjustment", 4_000),
            ("claim", "patient_responsibility", -4_000),
            ("patient", "patient_responsibility", 4_000),
        ]
    )
    assert (
        await admin_db.fetchval("SELECT count(*) FROM remittance.denial_adjustments WHERE tenant_id = $1", tenant) == 2
    )

    kpis = (await api.get("/v1/denial-kpis")).json()
    assert kpis["initial_denial_rate_bp"] == 8_000, kpis  # 4 of 5 originals denied on their first remittance
    assert {row["key"]: row["denied_claims"] for row in kpis["by_payer"]} == {"SANDBOX": 4}
    assert kpis["cases_resolved"] == 4 and kpis["overturn_rate_bp"] == 5_000
    assert kpis["recovered_cents"] == 36_000 and kpis["written_off_cents"] == 9_000
    assert all(d["source"].startswith("HFMA") for d in kpis["definitions"])
    other = httpx.AsyncClient(base_url=denials.base_url, headers=services.auth(new_tenant(), *DENIALS))
    assert (await other.get(f"/v1/denial-cases/{missing['id']}")).status_code == 404
    await other.aclose()
    await api.aclose()
