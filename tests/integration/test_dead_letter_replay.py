"""`claimflow dlt list|replay` against the real broker: a fixed dead letter is applied once on replay."""

from __future__ import annotations

import asyncio
import uuid

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
