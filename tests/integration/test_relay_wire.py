"""The relay's fast path (the stored data's text as the value) sends what encoding the stored envelope sends: the
same key and headers, the same payload; its bytes are the producer's own serialisation (an ASCII payload) or the
SDK's form (a payload the fast path re-encodes)."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from services.intake.app import DEFINITION as INTAKE
from shared.db import create_engine, create_sessionmaker, unit_of_work
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import to_kafka
from shared.messaging.outbox import Outbox, decode_stored, kafka_record, row_to_envelope
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
            written = await Outbox(table, source="/claimflow/intake").add_many(
                session, tenant=tenant, events=[(str(p.encounter_id), p) for p in payloads]
            )
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        table.c.envelope,
                        table.c.payload,
                        sa.cast(table.c.envelope, sa.Text),
                        sa.cast(table.c.payload, sa.Text),
                    )
                    .where(table.c.tenant_id == tenant)
                    .order_by(table.c.id)
                )
            ).all()
        assert len(rows) == 2
        sent = [kafka_record(decode_stored(text, payload_text)) for _, _, text, payload_text in rows]
        encoded = [to_kafka(row_to_envelope({**envelope, "data": payload})) for envelope, payload, _, _ in rows]
        for (key, value, headers), (key_encoded, value_encoded, headers_encoded) in zip(sent, encoded, strict=True):
            assert (key, headers) == (key_encoded, headers_encoded)
            assert json.loads(value) == json.loads(value_encoded)
        assert sent[0][1] == written[0].value  # ASCII: the producer's bytes, untouched
        assert not rows[1][3].isascii() and sent[1][1] == encoded[1][1]  # re-encoded, in the SDK's form
    finally:
        await engine.dispose()
