"""`claimflow analytics sink` against the real broker: every event lands once per event id (a re-sent
event, a rerun, a new consumer group re-reading the topics), partitioned by type and date, without PHI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.analytics import EventSink, ParquetLanding
from cli.main import app
from shared.events.catalog import ClaimStatusChangedV1, EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import CLAIM_STATUS, ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, new_tenant, produce

pytestmark = pytest.mark.integration
PHI_BLOCK = {
    "patient": {"last_name": "SYNTHETICA", "first_name": "PAT", "birth_date": "1970-05-05", "sex": "F"},
    "subscribers": [],
}


def encounter_event(tenant: str) -> EventEnvelope:
    encounter_id = str(uuid.uuid4())
    payload = EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": encounter_id, "phi": PHI_BLOCK})
    return EventEnvelope.new(source="/tests", subject=encounter_id, tenant=tenant, payload=payload)


def status_event(tenant: str) -> EventEnvelope:
    claim_id = str(uuid.uuid4())
    payload = ClaimStatusChangedV1(
        claim_id=uuid.UUID(claim_id), claim_control_number="CF0000000001", payer_id="SANDBOX",
        from_state="submitted", to_state="accepted", source="277CA", changed_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    return EventEnvelope.new(source="/tests", subject=claim_id, tenant=tenant, payload=payload)


async def publish(pipeline: Pipeline, envelope: EventEnvelope) -> None:
    key, value, headers = to_kafka(envelope)
    await produce(pipeline.kafka, envelope.topic, key=key, value=value, headers=headers)


def landed(directory: Path, tenant: str) -> list[tuple[str, str, str]]:
    rows = duckdb.connect().execute(
        "SELECT event_id, event_type, payload FROM read_parquet(?, hive_partitioning = true) WHERE tenant = ?",
        [str(directory / "event_type=*" / "event_date=*" / "*.parquet"), tenant],
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows.fetchall()]


async def drain(pipeline: Pipeline, directory: Path, group: str) -> int:
    sink = EventSink(pipeline.kafka, ParquetLanding(directory), pipeline.group(group))
    await sink.start()
    try:
        return await sink.drain()
    finally:
        await sink.stop()


async def test_every_event_lands_once_per_event_id_without_phi(pipeline: Pipeline, tmp_path: Path) -> None:
    tenant = new_tenant()
    encounters = [encounter_event(tenant) for _ in range(3)]
    statuses = [status_event(tenant) for _ in range(2)]
    for envelope in (*encounters, *statuses):
        await publish(pipeline, envelope)
    await publish(pipeline, encounters[0])  # a relay re-sending after a crash: same ce_id, new offset

    directory = tmp_path / "analytics"
    await drain(pipeline, directory, "sink-a")
    rows = landed(directory, tenant)
    assert sorted(r[0] for r in rows) == sorted(e.id for e in (*encounters, *statuses))
    assert {r[1] for r in rows} == {"encounter-coded.v1", "claim-status-changed.v1"}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (directory / "event_type=encounter-coded.v1" / f"event_date={today}").is_dir()
    assert (directory / "event_type=claim-status-changed.v1" / f"event_date={today}").is_dir()

    for _, event_type, payload in rows:
        document = json.loads(payload)
        if event_type == "encounter-coded.v1":
            assert "phi" not in document and document["lines"] and document["encounter_id"]
    every_file = b"".join(path.read_bytes() for path in directory.rglob("*.parquet"))
    assert b"SYNTHETICA" not in every_file and b"1970-05-05" not in every_file

    # The same group again, a new group re-reading from the start, and the command itself: nothing new.
    assert await drain(pipeline, directory, "sink-a") == 0
    assert await drain(pipeline, directory, "sink-b") == 0
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["analytics", "sink", "--once", "--dir", str(directory), "--group", pipeline.group("sink-c"),
         "--bootstrap", pipeline.kafka.bootstrap_servers],
        env=pipeline.kafka.env(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "landed 0 events" in result.output
    assert sorted(r[0] for r in landed(directory, tenant)) == sorted(e.id for e in (*encounters, *statuses))

    # A crash after the files but before the offset file: the partition is re-read, nothing lands twice.
    for offsets in (directory / "_offsets").glob(f"{ENCOUNTER_CODED.name}-*.json"):
        offsets.unlink()
    await publish(pipeline, status_event(tenant))
    assert await drain(pipeline, directory, "sink-a") == 1
    assert len(landed(directory, tenant)) == len(encounters) + len(statuses) + 1
    schema = pq.read_schema(next(directory.rglob(f"{CLAIM_STATUS.name}-*.parquet")))
    assert {"event_id", "tenant", "event_time", "trace_id", "payload", "kafka_offset"} <= set(schema.names)
