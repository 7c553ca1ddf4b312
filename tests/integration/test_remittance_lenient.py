"""835s faulty only in non-financial elements post with positioned warnings; control characters are refused.

Through the real remittance process and Postgres: the public LinuxForHealth samples whose SVC01 composites
are broken (issue 12) post their money to our claims, lines matched by order, and keep their warnings;
an 835 with a NUL byte (issue 11 #5) is answered 422 when uploaded and recorded as rejected, never
retried, when dropped in the inbound box.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.remittance.handlers import on_claim_submitted
from shared.clearinghouse.file_drop import write_atomically
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import ClaimSubmittedV1
from shared.events.envelope import EventEnvelope
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.remittance_builder import paid_claim, remittance_file
from tests.support.x12_samples import sample

pytestmark = pytest.mark.integration
X12 = {"content-type": "application/edi-x12"}

# CLP01 -> our lines (procedure, charge) for the three samples, as our 837s would have carried them.
OUR_CLAIMS = {
    "0001000055": [("55669", 54100)],
    "L0004828311": [("99223", 1032364)],
    "0001000053": [("12345", 16650), ("66543", 58500)],
    "0001000054": [("24599", 176650)],
}
SAMPLE_WARNINGS = {
    "linuxforhealth_x12/cob-contractural-adjustment.835": [("SVC", 21, 1)],
    "linuxforhealth_x12/secondary-payment.835": [("SVC", 29, 1), ("SVC", 34, 1)],
    "linuxforhealth_x12/tertiary-payment.835": [("SVC", 20, 1)],
}


def _claim_submitted(tenant: str, control_number: str, lines: list[tuple[str, int]]) -> EventEnvelope:
    claim_id = uuid.uuid4()
    charge = sum(charge for _, charge in lines)
    payload = ClaimSubmittedV1(
        claim_id=claim_id,
        encounter_id=uuid.uuid4(),
        claim_control_number=control_number,
        payer_id="1559123456",
        claim_type="professional",
        total_charge_cents=charge,
        lines=[
            {
                "line_number": number,
                "line_control_number": f"{control_number}-{number}",
                "procedure_code": procedure,
                "modifiers": ["26"] if control_number == "0001000053" else [],
                "units": 1,
                "charge_cents": line_charge,
            }
            for number, (procedure, line_charge) in enumerate(lines, start=1)
        ],
        interchange_control_number="000000907",
        submitted_at=dt.datetime.now(dt.UTC),
        patient_id=uuid.uuid4(),
    )
    return EventEnvelope.new(source="/tests", subject=str(claim_id), tenant=tenant, payload=payload)


async def _submit_claims(services: Pipeline, envelopes: list[EventEnvelope]) -> None:
    """The service's own `claim-submitted` handler, in this process (as in test_remittance_inbound)."""
    engine = create_engine(services.role_url("remittance"), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await on_claim_submitted(session, envelopes)
    finally:
        await engine.dispose()


async def test_samples_faulty_only_in_svc01_post_to_our_claims_with_their_warnings(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    envelopes = {ccn: _claim_submitted(tenant, ccn, lines) for ccn, lines in OUR_CLAIMS.items()}
    await _submit_claims(services, list(envelopes.values()))
    remittance = await services.start("remittance")
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=60) as client:
        for relative, expected in SAMPLE_WARNINGS.items():
            answer = await client.post("/v1/remittances", content=sample(relative), headers=X12)
            assert answer.status_code == 201, answer.text
            posted = answer.json()
            assert posted["suspended"] == 0 and posted["posted"] == posted["claim_payments"] >= 1, posted
            assert [(w["segment_id"], w["position"], w["element"]) for w in posted["warnings"]] == expected
            assert all("matched by REF*6R or its order" in w["message"] for w in posted["warnings"])
            stored = await client.get(f"/v1/remittances/{posted['remittance_id']}")
            assert stored.status_code == 200 and stored.json() == posted
            again = await client.post("/v1/remittances", content=sample(relative), headers=X12)
            assert (again.status_code, again.json()) == (200, posted)

        paid = {
            ccn: await client.get(f"/v1/claims/{envelopes[ccn].subject}/ledger") for ccn in ("0001000054", "0001000053")
        }
    tertiary = paid["0001000054"].json()
    assert (tertiary["charge_cents"], tertiary["paid_cents"], tertiary["balanced"]) == (176650, 18750, True)
    assert [(e["kind"], e["line_number"]) for e in tertiary["entries"] if e["kind"] == "adjustment"] == [
        ("adjustment", 1)
    ], "the line without its procedure code is ours by its order"
    secondary = paid["0001000053"].json()
    assert (secondary["paid_cents"], secondary["open_cents"]) == (31000, 0)
    by_line = sorted({e["line_number"] for e in secondary["entries"] if e["carc"] is not None})
    assert by_line == [1, 2]
    stored_warnings = await admin_db.fetchval(
        "SELECT sum(jsonb_array_length(warnings)) FROM remittance.remittance_files WHERE tenant_id = $1", tenant
    )
    assert stored_warnings == 4


async def test_a_nul_byte_is_refused_at_upload_and_rejected_once_from_the_inbound_box(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenant, suffix = new_tenant(), uuid.uuid4().hex[:6].upper()
    good = remittance_file([paid_claim(f"NUL{suffix}")], trace=f"NUL{suffix}")
    with_nul = good.replace(f"CLP*NUL{suffix}", f"CLP*Z\x00NUL{suffix}").encode()
    position = good[: good.index("CLP*")].count("~") + 1
    folder = tmp_path / "clearinghouse"
    (folder / "inbound").mkdir(parents=True)
    remittance = await services.start(
        "remittance",
        CLAIMFLOW_CLEARINGHOUSE_TRANSPORT="file_drop",
        CLAIMFLOW_CLEARINGHOUSE_FOLDER=str(folder),
        CLAIMFLOW_REMITTANCE_INBOUND_INTERVAL_S="0.2",
        CLAIMFLOW_REMITTANCE_INBOUND_TENANT=tenant,
    )
    write = services.auth(tenant, "remittance:write", "remittance:read")
    async with httpx.AsyncClient(base_url=remittance.base_url, headers=write, timeout=30) as client:
        answer = await client.post("/v1/remittances", content=with_nul, headers=X12)
        assert answer.status_code == 422, answer.text
        detail = answer.json()  # problem details: the refusal's members at the top level
        assert (detail["segment_id"], detail["position"], detail["element"]) == ("CLP", position, 1)
        assert "control character U+0000 (NUL)" in detail["reason"]

        write_atomically(folder / "inbound" / "nul.835", with_nul)

        async def listed_as_rejected() -> list[dict[str, object]] | None:
            files = (await client.get("/v1/inbound-files", params={"state": "rejected"})).json()
            return files or None

        (rejected,) = await eventually(listed_as_rejected, what="the inbound loop to reject the NUL file")
        assert rejected["file_name"] == "nul.835"
        assert rejected["rejection"]["position"] == position and rejected["rejection"]["element"] == 1
    assert not (folder / "inbound" / "nul.835").exists(), "acknowledged out of the box, not retried"
    for table in ("remittance_files", "claim_payments", "ledger_entries"):
        query = f"SELECT count(*) FROM remittance.{table} WHERE tenant_id = $1"  # noqa: S608 - test constants
        assert await admin_db.fetchval(query, tenant) == 0, table
    assert await admin_db.fetchval("SELECT count(*) FROM remittance.inbound_files WHERE tenant_id = $1", tenant) == 1
