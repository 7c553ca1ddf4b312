"""`claimflow dlt summary|list|replay|discard` against the real broker: a fixed dead letter is applied once on
replay, by the group that failed it alone; a discarded one stays closed with its reason."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.dead_letters import read_dead_letters, replay
from cli.main import app
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, eventually, new_tenant, produce

pytestmark = pytest.mark.integration


async def test_replayed_dead_letter_is_applied_once(services: Pipeline, admin_db: asyncpg.Connection) -> None:
    await services.start("claims")
    tenant = new_tenant()
    encounter_id = uuid.uuid4()
    envelope = EventEnvelope.new(
        source="/tests",
        subject=str(encounter_id),
        tenant=tenant,
        payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
    )
    key, value, headers = to_kafka(envelope)
    letter_headers = headers + [
        ("dlt-original-topic", b"encounter-coded"),
        ("dlt-original-partition", b"0"),
        ("dlt-original-offset", b"41"),
        ("dlt-consumer-group", services.group("claims").encode()),
        ("dlt-error", b"OperationalError: simulated outage"),
        ("dlt-attempts", b"5"),
    ]
    await produce(services.kafka, ENCOUNTER_CODED.dead_letter, key=key, value=value, headers=letter_headers)

    letters = [
        letter
        for letter in await read_dead_letters(services.kafka, ENCOUNTER_CODED.name)
        if letter.header("ce_id") == envelope.id
    ]
    assert len(letters) == 1
    assert letters[0].header("dlt-error") == "OperationalError: simulated outage"
    assert all(not name.startswith("dlt-") for name, _ in letters[0].original_headers)

    listing = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["dlt", "list", "encounter-coded", "--bootstrap", services.kafka.bootstrap_servers],
        env={"COLUMNS": "400", **services.kafka.env()},
    )
    assert listing.exit_code == 0, listing.output
    assert envelope.id in listing.output

    await replay(services.kafka, ENCOUNTER_CODED.name, letters * 2)

    async def claim_count() -> int:
        return int(await admin_db.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", tenant))

    assert await eventually(claim_count, what="the replayed event to be applied") == 1
    inbox = await admin_db.fetchval(
        "SELECT count(*) FROM claims.inbox WHERE event_id = $1 AND consumer_group = $2",
        envelope.id,
        services.group("claims"),
    )
    assert inbox == 1


async def dead_letter(services: Pipeline, tenant: str, group: str) -> str:
    """A valid encounter-coded event written to the DLT as `group` failed it; its event id."""
    encounter_id = uuid.uuid4()
    envelope = EventEnvelope.new(
        source="/tests",
        subject=str(encounter_id),
        tenant=tenant,
        payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
    )
    key, value, headers = to_kafka(envelope)
    letter_headers = headers + [
        ("dlt-original-topic", b"encounter-coded"),
        ("dlt-original-partition", b"0"),
        ("dlt-original-offset", b"7"),
        ("dlt-consumer-group", group.encode()),
        ("dlt-error", b"OperationalError: simulated outage"),
        ("dlt-attempts", b"5"),
        ("dlt-failed-at", b"2026-11-29T22:00:00+00:00"),
    ]
    await produce(services.kafka, ENCOUNTER_CODED.dead_letter, key=key, value=value, headers=letter_headers)
    return envelope.id


async def dlt(services: Pipeline, *args: str) -> dict[str, Any]:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["dlt", *args, "--bootstrap", services.kafka.bootstrap_servers, "--json"],
        env=services.kafka.env(),
    )
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def row_of(summary: dict[str, Any], group: str) -> dict[str, Any]:
    rows = [row for row in summary["groups"] if row["topic"] == "encounter-coded" and row["group"] == group]
    return rows[0] if rows else {"letters": 0, "pending": 0, "replayed": 0, "discarded": 0}


async def test_replay_goes_to_the_named_group_only_and_discard_keeps_a_reason(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    # notifications reads every topic: it must skip a letter replayed to claims
    await services.start_together({"claims": {}, "notifications": {}})
    claims_group, notifications_group = services.group("claims"), services.group("notifications")
    tenant = new_tenant()

    async def both_caught_up() -> bool:  # earlier tests' records (a poison message among them) read and lettered
        return await _group_caught_up(services, claims_group) and await _group_caught_up(services, notifications_group)

    await eventually(both_caught_up, what="claims and notifications to read what earlier tests left on the topic")
    before = await dlt(services, "summary")
    replayed_id = await dead_letter(services, tenant, claims_group)
    discarded_id = await dead_letter(services, tenant, claims_group)

    summary = await dlt(services, "summary")
    assert row_of(summary, claims_group)["pending"] == row_of(before, claims_group)["pending"] + 2
    listing = await dlt(services, "list", "encounter-coded")
    mine = {row["event_id"]: row for row in listing["letters"] if row["tenant"] == tenant}
    assert {row["status"] for row in mine.values()} == {"pending"} and set(mine) == {replayed_id, discarded_id}
    assert all(row["group"] == claims_group and row["error"] for row in mine.values())

    discarded = await dlt(
        services, "discard", "encounter-coded", "--at", str(mine[discarded_id]["at"]), "--reason", "test data"
    )
    assert discarded["discarded"] == 1
    assert discarded["decisions"][0]["reason"] == "test data"

    dry = await dlt(services, "replay", "encounter-coded", "--group", claims_group, "--dry-run")
    assert dry["replayed"] == 0 and replayed_id in {row["event_id"] for row in dry["letters"]}
    assert discarded_id not in {row["event_id"] for row in dry["letters"]}
    assert await admin_db.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", tenant) == 0

    replayed = await dlt(services, "replay", "encounter-coded", "--group", claims_group)
    assert replayed["replayed"] == len(replayed["letters"]) >= 1

    async def claim_count() -> int:
        return int(await admin_db.fetchval("SELECT count(*) FROM claims.claims WHERE tenant_id = $1", tenant))

    assert await eventually(claim_count, what="the replayed letter applied by claims") == 1

    async def notifications_past_it() -> bool:  # notifications read the replayed record and skipped it
        applied = await admin_db.fetchval(
            "SELECT count(*) FROM notifications.inbox WHERE consumer_group = $1 AND event_id = $2",
            notifications_group,
            replayed_id,
        )
        return applied == 0 and await _group_caught_up(services, notifications_group)

    assert await eventually(notifications_past_it, what="notifications to move past the replayed letter")
    after = await dlt(services, "summary")
    row = row_of(after, claims_group)
    assert row["pending"] == row_of(before, claims_group)["pending"]
    assert row["discarded"] == row_of(before, claims_group)["discarded"] + 1
    assert row["replayed"] >= row_of(before, claims_group)["replayed"] + 1
    assert row_of(after, notifications_group)["letters"] == row_of(before, notifications_group)["letters"]
    statuses = {r["event_id"]: r["status"] for r in (await dlt(services, "list", "encounter-coded"))["letters"]}
    assert (statuses[replayed_id], statuses[discarded_id]) == ("replayed", "discarded")


async def _group_caught_up(services: Pipeline, group: str) -> bool:
    """The group's committed offsets on encounter-coded are at the topic's end."""
    from aiokafka import AIOKafkaConsumer

    from tests.support.pipeline import end_offsets

    ends = await end_offsets(services.kafka, ENCOUNTER_CODED.name)
    consumer = AIOKafkaConsumer(**services.kafka.client_options(), group_id=group)
    await consumer.start()
    try:
        committed = {tp: await consumer.committed(tp) for tp in ends}
    finally:
        await consumer.stop()
    return all((committed[tp] or 0) >= end for tp, end in ends.items())
