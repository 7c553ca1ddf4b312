"""The relay's fast path (the jsonb text as the value) writes the same bytes as encoding the stored envelope as
Postgres reads it (the column keeps the producer's text; the relay takes Postgres's jsonb text of it)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.intake.app import DEFINITION as INTAKE
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import to_kafka
from shared.messaging.outbox import Outbox, row_to_envelope, stored_to_kafka, wire_column
from tests.support.pipeline import Pipeline, coded_encounter


async def test_stored_events_go_out_as_the_stored_envelope_encodes(pipeline: Pipeline) -> None:
    tenant = f"wire-{uuid.uuid4().hex[:8]}"
    engine = create_engine(pipeline.role_url("intake"), pool_size=1)
    table = INTAKE.messaging.outbox
    try:
        payloads = [
            EncounterCodedV1.model_validate({**coded_encounter(), "encounter_id": str(uuid.uuid4())}),
            EncounterCodedV1.model_validate(
                {
                    **coded_encounter(external_encounter_id='ENC "quoted" \\ back\tslash \u00e9 \u6771 \U0001f389'),
                    "encounter_id": str(uuid.uuid4()),
                }
            ),
        ]
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await Outbox(table, source="/claimflow/intake").add_many(
                session, tenant=tenant, events=[(str(p.encounter_id), p) for p in payloads]
            )
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(sa.cast(table.c.envelope, JSONB), wire_column(table))  # as Postgres reads it
                    .where(table.c.tenant_id == tenant)
                    .order_by(table.c.id)
                )
            ).all()
        assert len(rows) == 2
        for envelope, text in rows:
            assert stored_to_kafka(text) == to_kafka(row_to_envelope(envelope))
        assert not text.isascii()  # the second one took the re-encoding path
    finally:
        await engine.dispose()
