"""Coded encounters in, scrubbed claims held or batched into stored 837s, `claim-submitted` out once
per claim; a held claim fixed and released goes out too. Real claims process, Kafka and Postgres."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.claims.domain.control_numbers import gs06, isa13, st02
from services.claims.reference_data import read_mue, read_ptp, replace_mue_edits, replace_ptp_edits
from shared.events.catalog import EncounterCodedV1
from shared.messaging.topics import CLAIM_SUBMITTED
from shared.patient_match import MemberDigest
from shared.settings import ServiceSettings
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.encounters import EXAMPLES, example, produce_all
from tests.support.file_drop import start_claims_on_file_drop
from tests.support.pipeline import (
    Pipeline,
    end_offsets,
    eventually,
    metric_total,
    new_tenant,
    read_from,
)
from tests.support.sealed import FILE_COLUMNS, SealedPhi

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "claims" / "fixtures"


def with_lines(event: EncounterCodedV1, *changes: dict[str, Any]) -> EncounterCodedV1:
    lines = [line.model_copy(update=change) for line, change in zip(event.lines, changes, strict=False)]
    return event.model_copy(update={"lines": lines + event.lines[len(lines) :]})


async def states(admin_db: asyncpg.Connection, tenant: str) -> dict[str, str]:
    rows = await admin_db.fetch("SELECT encounter_id, state FROM claims.claims WHERE tenant_id = $1", tenant)
    return {str(row["encounter_id"]): row["state"] for row in rows}


async def test_encounters_become_scrubbed_submitted_837s_and_held_claims_go_out_once_fixed(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    database_url = services.role_url("claims")
    await replace_ptp_edits(database_url, "practitioner", read_ptp([FIXTURES / "ncci_ptp_practitioner.txt"]))
    await replace_mue_edits(database_url, "practitioner", read_mue([FIXTURES / "mue_practitioner.csv"], None))
    clearinghouse = tmp_path / "clearinghouse"
    claims = await start_claims_on_file_drop(services, clearinghouse)
    tenant = new_tenant()
    write = services.auth(tenant, "claims:read", "claims:write")
    start = await end_offsets(services.kafka, CLAIM_SUBMITTED.name)
    async with httpx.AsyncClient(base_url=claims.base_url, headers=write) as client:
        # The examples' dates are fixed; their payers' windows may have closed since.
        response = await client.put("/v1/scrub-rules/timely_filing.expired", json={"enabled": False})
        assert response.status_code == 200 and response.json()["enabled"] is False
        response = await client.put("/v1/fee-schedule", json={"entries": [{"code": "99213", "charge_cents": 11000}]})
        assert response.json() == {"loaded": 1}

        shapes = sorted(p.stem for p in EXAMPLES.glob("*.json"))
        clean = [example(name) for name in shapes]
        professional = example("professional")
        priced_from_schedule = with_lines(professional, {"charge_cents": None})
        unpriced = with_lines(example("professional"), {}, {"charge_cents": None})  # 87880: not in the schedule
        bundled = with_lines(example("professional"), {"procedure_code": "20610"}, {"procedure_code": "76942"})
        events = [*clean, priced_from_schedule, unpriced, bundled]
        await produce_all(services.kafka, tenant, events)

        expected = {str(e.encounter_id): "submitted" for e in [*clean, priced_from_schedule]}
        expected |= {str(unpriced.encounter_id): "on_hold", str(bundled.encounter_id): "on_hold"}

        async def settled() -> bool:
            return await states(admin_db, tenant) == expected

        await eventually(settled, timeout_s=60, what="every claim batched or held")
        # A re-delivered encounter (a new event for the same encounter) creates nothing.
        (redelivered,) = await produce_all(services.kafka, tenant, [clean[0]])

        holds = (await client.get("/v1/holds")).json()
        reasons = {h["encounter_id"]: {f["rule_id"] for f in h["findings"] if f["severity"] == "error"} for h in holds}
        assert reasons == {str(unpriced.encounter_id): {"charge.priced"}, str(bundled.encounter_id): {"ncci.ptp"}}
        held_id = next(h["id"] for h in holds if h["encounter_id"] == str(unpriced.encounter_id))

        response = await client.post(f"/v1/claims/{held_id}/release")
        assert response.status_code == 200 and response.json()["state"] == "on_hold", "still unpriced"
        response = await client.post(
            f"/v1/claims/{held_id}/fixes", json={"lines": [{"line_number": 2, "charge_cents": 3100}]}
        )
        assert response.status_code == 200, response.text
        first_line_cents = professional.lines[0].charge_cents
        assert first_line_cents is not None
        assert response.json()["total_charge_cents"] == first_line_cents + 3100
        response = await client.post(f"/v1/claims/{held_id}/release")
        assert response.status_code == 200 and response.json()["state"] == "ready", response.text
        assert (await client.post(f"/v1/claims/{held_id}/release")).status_code == 409

        expected[str(unpriced.encounter_id)] = "submitted"
        await eventually(settled, timeout_s=30, what="the released claim to be batched and sent")

        detail = (await client.get(f"/v1/claims/{held_id}")).json()
        walk = [(c["from_state"], c["to_state"]) for c in detail["status_history"]]
        assert walk == [
            (None, "draft"),
            ("draft", "scrubbed"),
            ("scrubbed", "on_hold"),
            ("on_hold", "scrubbed"),
            ("scrubbed", "on_hold"),
            ("on_hold", "on_hold"),
            ("on_hold", "scrubbed"),
            ("scrubbed", "ready"),
            ("ready", "batched"),
            ("batched", "submitted"),
        ]
        assert detail["submission_id"] and detail["lines"][1]["charge_cents"] == 3100
        other = services.auth(new_tenant(), "claims:read")
        assert (await client.get(f"/v1/claims/{held_id}", headers=other)).status_code == 404

    async def redelivery_handled() -> bool:
        return bool(await admin_db.fetchval("SELECT 1 FROM claims.inbox WHERE event_id = $1", redelivered))

    await eventually(redelivery_handled, timeout_s=30, what="the claims consumer to take the re-delivered encounter")
    assert len(await states(admin_db, tenant)) == len(events), "the re-delivered encounter made no claim"
    submissions = await admin_db.fetch(
        f"SELECT interchange_control_number, claim_count, status, {FILE_COLUMNS} FROM claims.submissions s "  # noqa: S608
        "WHERE tenant_id = $1",
        tenant,
    )
    assert sum(s["claim_count"] for s in submissions) == len(clean) + 2
    assert {s["status"] for s in submissions} == {"sent"}
    sent_files = {path.read_text() for path in clearinghouse.rglob("837-*.x12")}
    sealed = SealedPhi(admin_db, services)
    texts: dict[int, str] = {}
    for submission in submissions:
        assert submission["x12"] is None and submission["phi"] is not None, "the stored 837 is sealed"
        text = texts[submission["interchange_control_number"]] = await sealed.file_text("submissions", submission)
        assert list(validate_with_pyx12(text)) == []
        assert text in sent_files, "the stored 837 is the file the clearinghouse got"
    envelope = detail["envelope"]  # the released claim's ISA13/GS06/ST02 are those of the 837 it went out in
    isa = envelope["interchange_control_number"]
    sent_837 = texts[isa]
    assert isa13(isa) in sent_837.split("~")[0]
    assert f"*{gs06(envelope['group_control_number'])}*X*" in sent_837
    assert f"ST*837*{st02(envelope['transaction_control_number'])}*" in sent_837
    assert envelope["sent_at"] is not None and envelope["submission_count"] == 1
    numbers = await admin_db.fetch("SELECT claim_control_number FROM claims.claims WHERE tenant_id = $1", tenant)
    assert len({n["claim_control_number"] for n in numbers}) == len(events)

    batched_ids = {
        str(row["id"])
        for row in await admin_db.fetch(
            "SELECT id FROM claims.claims WHERE tenant_id = $1 AND state = 'submitted'", tenant
        )
    }

    async def submitted_once() -> dict[str, int]:
        copies: dict[str, int] = {}
        for record in await read_from(services.kafka, start):
            if dict(record.headers).get("ce_tenant") == tenant.encode():
                claim_id = json.loads(record.value)["claim_id"]
                copies[claim_id] = copies.get(claim_id, 0) + 1
        return copies if set(copies) == batched_ids else {}

    copies = await eventually(submitted_once, timeout_s=30, what="claim-submitted for every batched claim")
    assert copies == dict.fromkeys(batched_ids, 1)
    # each names its subscriber by a keyed digest remittance can compare, never by the member id
    digest = MemberDigest.from_settings(ServiceSettings(auth_secret=SecretStr(services.secrets.auth_secret)))
    member_digests = {digest.of(tenant, s.member_id) for event in events if event.phi for s in event.phi.subscribers}
    sent = [json.loads(record.value) for record in await read_from(services.kafka, start)]
    ours = [payload for payload in sent if payload["claim_id"] in batched_ids]
    assert ours and all(payload["member_digest"] in member_digests for payload in ours)

    async def gauge_counts_them() -> bool:  # the gauge is refreshed every few seconds, not per claim
        return await metric_total(claims, "claimflow_claims_by_state", state="submitted") >= len(batched_ids)

    await eventually(gauge_counts_them, timeout_s=30, what="claimflow_claims_by_state to count the submitted claims")


def test_codes_load_reads_cms_files_into_the_claims_schema(pipeline: Pipeline) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    url = pipeline.role_url("claims")
    ptp = runner.invoke(
        app, ["codes", "load", "ncci-ptp", str(FIXTURES / "ncci_ptp_practitioner.txt"), "--database-url", url]
    )
    assert ptp.exit_code == 0, ptp.output
    assert "loaded 5 practitioner NCCI PTP edits" in ptp.stdout
    mue = runner.invoke(app, ["codes", "load", "mue", str(FIXTURES / "mue_practitioner.csv"), "--database-url", url])
    assert mue.exit_code == 0 and "loaded 4 practitioner MUE edits" in mue.stdout, mue.output
    wrong = runner.invoke(
        app, ["codes", "load", "mue", str(FIXTURES / "ncci_ptp_practitioner.txt"), "--database-url", url]
    )
    assert wrong.exit_code == 1 and "line 4: adjudication indicator" in wrong.stderr, "a PTP file is not an MUE file"
