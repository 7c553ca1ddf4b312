"""Exactly-once effects through outbox -> Kafka -> inbox, with real processes killed at the worst moments."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import (
    Pipeline,
    coded_encounter,
    end_offsets,
    eventually,
    metric_total,
    new_tenant,
    produce,
    read_from,
    rewind_group,
    role_waits_on_a_lock,
)

pytestmark = pytest.mark.integration


async def _post_encounters(base_url: str, headers: dict[str, str], count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        ids = []
        for _ in range(count):
            response = await client.post("/v1/encounters", json=coded_encounter())
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids


async def _claims_per_encounter(admin_db: asyncpg.Connection, tenant: str) -> dict[str, int]:
    rows = await admin_db.fetch(
        "SELECT encounter_id::text AS encounter_id, count(*) AS n FROM claims.claims WHERE tenant_id = $1 "
        "GROUP BY encounter_id",
        tenant,
    )
    return {row["encounter_id"]: row["n"] for row in rows}


HOLD_RELAY_COMMIT = (
    """
    CREATE FUNCTION intake.test_hold_relay_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('test-hold-relay-commit'));
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER test_hold_relay_commit AFTER UPDATE ON intake.outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION intake.test_hold_relay_commit()
    """,
)
"""A trigger run at the commit of any transaction that updated intake's outbox (the relay's mark), waiting there for
an advisory lock the test holds."""


async def test_relay_killed_between_send_and_mark_still_applies_each_event_once(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    started = await services.start_together({"claims": {}, "intake": {"CLAIMFLOW_RUN_RELAY": "false"}})
    claims, quiet_intake = started["claims"], started["intake"]
    tenant = new_tenant()
    encounter_ids = await _post_encounters(quiet_intake.base_url, services.auth(tenant, "encounters:write"), 5)
    quiet_intake.stop()
    event_ids = [
        str(row["event_id"])
        for row in await admin_db.fetch("SELECT event_id FROM intake.outbox WHERE tenant_id = $1", tenant)
    ]
    assert len(event_ids) == 5
    start = await end_offsets(services.kafka, ENCOUNTER_CODED.name)

    # The relay claims and marks its batch in one statement and commits the mark once Kafka has acknowledged it: a
    # deferred constraint trigger makes that COMMIT wait for a lock this test holds, so the relay sends, then waits
    # to commit, and is killed there (its backend ended as a crash of its host would end it).
    blocker = await asyncpg.connect(services.admin_url)
    await blocker.execute("SELECT pg_advisory_lock(hashtext('test-hold-relay-commit'))")
    for statement in HOLD_RELAY_COMMIT:
        await admin_db.execute(statement)
    try:
        relay = await services.start("intake")

        async def sent_once() -> bool:
            records = await read_from(services.kafka, start)
            sent = {
                dict(r.headers)["ce_id"].decode()
                for r in records
                if dict(r.headers).get("ce_tenant") == tenant.encode()
            }
            return sent >= set(event_ids)

        await eventually(sent_once, what="the relay to send the events before committing their mark")
        await eventually(lambda: role_waits_on_a_lock(admin_db, "intake"), what="the relay's commit to wait")
        relay.kill()
        await admin_db.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE usename = 'intake' "
            "AND wait_event_type = 'Lock' AND datname = current_database()"
        )
    finally:
        await admin_db.execute("DROP TRIGGER IF EXISTS test_hold_relay_commit ON intake.outbox")
        await admin_db.execute("DROP FUNCTION IF EXISTS intake.test_hold_relay_commit()")
        await blocker.close()
    assert (
        await admin_db.fetchval(
            "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL", tenant
        )
        == 5
    ), "the mark must not have happened: the relay died before it"

    await services.start("intake")

    async def all_marked() -> bool:
        unpublished = "SELECT count(*) FROM intake.outbox WHERE tenant_id = $1 AND published_at IS NULL"
        return bool(await admin_db.fetchval(unpublished, tenant) == 0)

    await eventually(all_marked, what="the restarted relay to publish and mark")
    records = await read_from(services.kafka, start)
    copies: dict[str, int] = {}
    for record in records:
        event_id = dict(record.headers)["ce_id"].decode()
        if event_id in event_ids:
            copies[event_id] = copies.get(event_id, 0) + 1
    assert copies == dict.fromkeys(event_ids, 2), "each event was sent twice: before the crash and after"

    async def every_claim() -> dict[str, int]:
        counts = await _claims_per_encounter(admin_db, tenant)
        return counts if len(counts) == 5 else {}

    assert await eventually(every_claim, what="claims for all encounters") == dict.fromkeys(encounter_ids, 1)

    async def duplicates_seen() -> bool:
        return await metric_total(claims, "claimflow_events_duplicate_total", service="claims") >= 5

    await eventually(duplicates_seen, what="the claims inbox to skip the second copies")
    assert await _claims_per_encounter(admin_db, tenant) == dict.fromkeys(encounter_ids, 1)
    assert (
        await admin_db.fetchval(
            "SELECT count(*) FROM claims.inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])",
            services.group("claims"),
            event_ids,
        )
        == 5
    )


async def test_consumer_killed_after_db_commit_before_offset_commit_applies_once(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    tenant = new_tenant()
    start = await end_offsets(services.kafka, ENCOUNTER_CODED.name)
    started = await services.start_together({"intake": {}, "claims": {}})
    intake, claims = started["intake"], started["claims"]
    first = await _post_encounters(intake.base_url, services.auth(tenant, "encounters:write"), 6)

    async def first_claims() -> bool:
        return len(await _claims_per_encounter(admin_db, tenant)) == 6

    await eventually(first_claims, what="claims for the first encounters")
    claims.kill()
    # From Kafka's point of view the offset commits after those DB commits never happened.
    await rewind_group(services.kafka, services.group("claims"), start)

    restarted = await services.start("claims")
    second = await _post_encounters(intake.base_url, services.auth(tenant, "encounters:write"), 4)

    async def all_claims() -> dict[str, int]:
        counts = await _claims_per_encounter(admin_db, tenant)
        return counts if len(counts) == 10 else {}

    assert await eventually(all_claims, what="claims for all encounters") == dict.fromkeys(first + second, 1)
    assert await metric_total(restarted, "claimflow_events_duplicate_total", service="claims") >= 6


async def test_poison_message_goes_to_the_dead_letter_topic_and_the_partition_moves_on(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    await services.start("claims")
    tenant = new_tenant()
    encounter_id = uuid.uuid4()
    key = str(encounter_id).encode()
    dlt_start = await end_offsets(services.kafka, ENCOUNTER_CODED.dead_letter)
    poison = await produce(
        services.kafka,
        ENCOUNTER_CODED.name,
        key=key,
        value=b'{"not": "an event"',
        headers=[("ce_type", b"encounter-coded.v1")],
    )
    good = EventEnvelope.new(
        source="/tests",
        subject=str(encounter_id),
        tenant=tenant,
        payload=EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(encounter_id)}),
    )
    good_key, good_value, good_headers = to_kafka(good)
    following = await produce(
        services.kafka, ENCOUNTER_CODED.name, key=good_key, value=good_value, headers=good_headers
    )
    assert following.partition == poison.partition and following.offset > poison.offset

    async def claim_built() -> bool:
        return bool(await _claims_per_encounter(admin_db, tenant))

    await eventually(claim_built, what="the message after the poison one to be applied")

    async def dead_letter() -> object:
        records = await read_from(services.kafka, dlt_start)
        for record in records:
            headers = dict(record.headers)
            if (
                headers.get("dlt-original-offset") == str(poison.offset).encode()
                and headers.get("dlt-original-partition") == str(poison.partition).encode()
                and headers.get("dlt-consumer-group") == services.group("claims").encode()
            ):
                return record
        return None

    letter = await eventually(dead_letter, what="the poison message in encounter-coded.dlt")
    headers = dict(letter.headers)
    assert headers["dlt-original-topic"] == b"encounter-coded"
    assert headers["dlt-error"].startswith(b"MalformedEvent: header ce_id missing")
    assert headers["dlt-attempts"] == b"1"
    assert b"dlt-failed-at" in headers or "dlt-failed-at" in headers
    assert letter.key == key and letter.value == b'{"not": "an event"'
