"""Two claims replicas as real processes in one consumer group, with a rebalance in the middle (a second replica
joins, then the first is SIGKILLed) while coded encounters flow in on `encounter-coded` as intake writes them:
every encounter still gets exactly one claim, each claim goes out in exactly one 837, the X12 control numbers
never repeat, one relay leads per schema and nothing is left in the outbox. The batcher's window lock is checked
on its own against real Postgres."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.claims.records import BatchWindow
from services.claims.repository import StreamWrites
from services.claims.service import submission_file_name
from shared.db import create_engine, create_sessionmaker
from tests.support.encounters import example, produce_all
from tests.support.pipeline import Pipeline, eventually, new_tenant
from tests.support.sealed import SealedPhi

pytestmark = pytest.mark.integration
ENCOUNTERS_PER_WAVE = 60
FAST = "0.2"


async def _send_wave(pipeline: Pipeline, tenant: str, count: int) -> list[str]:
    """`count` clean professional encounters of `tenant` on `encounter-coded`; their encounter ids."""
    events = [example("professional") for _ in range(count)]
    await produce_all(pipeline.kafka, tenant, events)
    return [str(event.encounter_id) for event in events]


async def _settled(admin_db: asyncpg.Connection, tenants: list[str], encounters: int) -> bool:
    """Every encounter has its claim and none is waiting to be built, batched or sent."""
    claims, unsent = await admin_db.fetchrow(
        "SELECT count(*), count(*) FILTER (WHERE state IN ('ready', 'batched')) FROM claims.claims "
        "WHERE tenant_id = ANY($1::text[])",
        tenants,
    )
    return bool(claims == encounters and unsent == 0)


async def _relay_leaders(admin_db: asyncpg.Connection, schema: str) -> int:
    """Sessions holding the relay's advisory lock (`pg_try_advisory_lock(hashtext(key))`) of `schema`."""
    return int(
        await admin_db.fetchval(
            "SELECT count(DISTINCT pid) FROM pg_locks, (SELECT hashtext($1)::bigint AS k) key "
            "WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) AND classid::bigint = ((key.k >> 32) & 4294967295) "
            "AND objid::bigint = (key.k & 4294967295) AND objsubid = 1",
            f"claimflow-relay-{schema}",
        )
    )


async def test_two_claims_replicas_and_a_rebalance_bill_each_encounter_once_in_one_837(
    services: Pipeline, admin_db: asyncpg.Connection, tmp_path: Path
) -> None:
    clearinghouse = tmp_path / "clearinghouse"
    claims_env = {
        "CLAIMFLOW_CLAIMS_BATCH_INTERVAL_S": FAST,
        "CLAIMFLOW_CLAIMS_BATCH_SIZE": "25",  # several rounds and windows per wave, so the replicas interleave
        "CLAIMFLOW_CLAIMS_RUN_ACKNOWLEDGMENTS": "false",
        "CLAIMFLOW_CLEARINGHOUSE_TRANSPORT": "file_drop",
        "CLAIMFLOW_CLEARINGHOUSE_FOLDER": str(clearinghouse),
    }
    first = await services.start("claims", **claims_env)
    tenants = [new_tenant(), new_tenant()]  # two tenant+payer windows batched side by side
    async with httpx.AsyncClient(base_url=first.base_url) as client:
        for tenant in tenants:  # the examples' dates are fixed; their payers' filing windows may have closed
            response = await client.put(
                "/v1/scrub-rules/timely_filing.expired",
                json={"enabled": False},
                headers=services.auth(tenant, "claims:read", "claims:write"),
            )
            assert response.status_code == 200, response.text

    encounter_ids = await _send_wave(services, tenants[0], ENCOUNTERS_PER_WAVE)
    second = await services.start("claims", **claims_env)  # joins the group: partitions move
    encounter_ids += await _send_wave(services, tenants[1], ENCOUNTERS_PER_WAVE)
    assert await _relay_leaders(admin_db, "claims") == 1, "two claims replicas, one relay leader"
    first.kill()  # leaves mid-flow without a goodbye: its partitions and its relay lead move to the second
    encounter_ids += await _send_wave(services, tenants[0], ENCOUNTERS_PER_WAVE)
    encounter_ids += await _send_wave(services, tenants[1], ENCOUNTERS_PER_WAVE)

    await eventually(
        lambda: _settled(admin_db, tenants, len(encounter_ids)),
        timeout_s=180,
        what="a claim for every encounter, each batched and sent",
    )
    assert second.process is not None and second.process.poll() is None

    per_encounter = await admin_db.fetch(
        "SELECT encounter_id::text AS encounter_id, count(*) AS n FROM claims.claims "
        "WHERE tenant_id = ANY($1::text[]) GROUP BY encounter_id",
        tenants,
    )
    assert {row["encounter_id"]: row["n"] for row in per_encounter} == dict.fromkeys(encounter_ids, 1)

    claims = await admin_db.fetch(
        "SELECT id, tenant_id, claim_control_number, submission_id, state FROM claims.claims "
        "WHERE tenant_id = ANY($1::text[])",
        tenants,
    )
    assert Counter(row["state"] for row in claims) == {"submitted": len(encounter_ids)}
    sent = list(claims)

    files = await admin_db.fetch(
        "SELECT id, tenant_id, submitter_id, interchange_control_number, x12, phi, status FROM claims.submissions "
        "WHERE tenant_id = ANY($1::text[])",
        tenants,
    )
    assert {row["status"] for row in files} == {"sent"}
    in_files: Counter[tuple[str, str]] = Counter()
    interchanges, groups, transactions = [], [], []
    for row in files:
        text = await SealedPhi(admin_db, services).file_text("submissions", row)
        terminator = text[105]  # ISA is fixed width: its segment terminator follows ISA16
        segments = [segment.strip() for segment in text.split(terminator) if segment.strip()]
        element = text[3]
        for segment in segments:
            fields = segment.split(element)
            if fields[0] == "CLM":
                in_files[(row["tenant_id"], fields[1])] += 1
            elif fields[0] == "ISA":
                interchanges.append((row["submitter_id"], int(fields[13])))
            elif fields[0] == "GS":
                groups.append((row["submitter_id"], int(fields[6])))
            elif fields[0] == "ST":
                transactions.append((row["submitter_id"], int(fields[2])))
        assert {r["tenant_id"] for r in claims if r["submission_id"] == row["id"]} == {row["tenant_id"]}
    assert in_files == Counter({(row["tenant_id"], row["claim_control_number"]): 1 for row in sent}), (
        "each submitted claim in exactly one 837, no other claim in any"
    )
    for numbers, what in ((interchanges, "ISA13"), (groups, "GS06"), (transactions, "ST02")):
        repeated = [number for number, count in Counter(numbers).items() if count > 1]
        assert not repeated, f"{what} repeated across replicas: {repeated[:5]}"
    assert len(files) == len(interchanges)
    # the database is shared by the session: an earlier test may have left a stored 837 of its own tenant (built by
    # calling the batcher directly) that these replicas' senders hand over too; every file is a stored submission's
    every = await admin_db.fetch("SELECT id, submitter_id, interchange_control_number FROM claims.submissions")
    named = {submission_file_name(r["submitter_id"], r["interchange_control_number"], r["id"]) for r in every}
    ours = {submission_file_name(r["submitter_id"], r["interchange_control_number"], r["id"]) for r in files}
    outbound = {path.name for path in (clearinghouse / "outbound").iterdir()}
    assert ours <= outbound <= named, "each 837 handed to the clearinghouse once, under its submission's name"

    events = await admin_db.fetch(
        "SELECT message_key, count(*) AS n FROM claims.outbox WHERE tenant_id = ANY($1::text[]) "
        "AND event_type = 'claim-submitted.v1' GROUP BY message_key",
        tenants,
    )
    assert {row["message_key"]: row["n"] for row in events} == {str(row["id"]): 1 for row in sent}

    async def outbox_empty() -> bool:
        left = await admin_db.fetchval(
            "SELECT count(*) FROM claims.outbox WHERE tenant_id = ANY($1::text[]) AND published_at IS NULL", tenants
        )
        return bool(left == 0)

    await eventually(outbox_empty, what="every outbox row published")
    assert await _relay_leaders(admin_db, "claims") == 1


async def test_one_batcher_holds_a_tenant_payer_window_until_its_round_ends(services: Pipeline) -> None:
    engine = create_engine(services.role_url("claims"), pool_size=3)
    sessions = create_sessionmaker(engine)
    tenant = new_tenant()
    window, other_payer = BatchWindow(tenant, "SANDBOX"), BatchWindow(tenant, "OTHERPAYER")
    try:
        async with sessions() as first, sessions() as second:
            async with first.begin():
                assert await StreamWrites(first).hold_window(window)
                async with second.begin():
                    assert not await StreamWrites(second).hold_window(window), "a second batcher on a held window"
                    assert await StreamWrites(second).hold_window(other_payer), "another payer's window is free"
            # The first round committed: its window is free for the next batcher.
            async with second.begin():
                assert await StreamWrites(second).hold_window(window)
    finally:
        await engine.dispose()
