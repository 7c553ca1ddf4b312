"""Trace context crosses HTTP -> outbox row -> Kafka headers, so one claim's path is one trace."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from shared.messaging.topics import ENCOUNTER_CODED
from tests.support.pipeline import Pipeline, coded_encounter, end_offsets, eventually, new_tenant, read_from

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_callers_trace_travels_through_the_outbox_into_kafka(
    services: Pipeline, admin_db: asyncpg.Connection
) -> None:
    start = await end_offsets(services.kafka, ENCOUNTER_CODED.name)
    intake = await services.start("intake")
    tenant = new_tenant()
    headers = {**services.auth(tenant, "encounters:write"), "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    async with httpx.AsyncClient(base_url=intake.base_url) as client:
        response = await client.post("/v1/encounters", json=coded_encounter(), headers=headers)
    assert response.status_code == 201

    stored = await admin_db.fetchval(
        "SELECT envelope->'trace_headers'->>'traceparent' FROM intake.outbox WHERE tenant_id = $1", tenant
    )
    assert stored is not None and stored.split("-")[1] == TRACE_ID
    assert stored.split("-")[2] != "00f067aa0ba902b7", "the outbox row carries intake's own span, a child"

    async def published() -> list[object]:
        return [
            record
            for record in await read_from(services.kafka, start)
            if dict(record.headers).get("ce_tenant") == tenant.encode()
        ]

    (record,) = await eventually(published, what="the event on encounter-coded")
    assert dict(record.headers)["traceparent"].decode().split("-")[1] == TRACE_ID
