"""Encounter-coded events built from the intake examples (`examples/encounters/*.json`), for claims tests,
and a producer that puts them on `encounter-coded` as intake would."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from services.intake.domain.documents import document_event
from services.intake.schemas import EncounterDocument
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.topics import ENCOUNTER_CODED

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "encounters"
EXAMPLES_TODAY = dt.date(2026, 11, 27)
"""A day on which every example is a valid encounter (none of its dates lies in the future)."""


def event_of(name: str, today: dt.date = EXAMPLES_TODAY) -> EncounterCodedV1:
    """The event intake makes of example `name`, exactly as intake maps it."""
    document = EncounterDocument.model_validate_json((EXAMPLES / f"{name}.json").read_text())
    event, problems = document_event(document, today=today)
    assert event is not None, problems
    return event


def writable(event: EncounterCodedV1) -> EncounterCodedV1:
    """The examples' one 5-digit billing-provider ZIP made 9 digits, as the 837 requires."""
    provider = event.billing_provider
    assert provider is not None and provider.address is not None
    if len(provider.address.postal_code) == 9:
        return event
    address = provider.address.model_copy(update={"postal_code": provider.address.postal_code + "0001"})
    return event.model_copy(update={"billing_provider": provider.model_copy(update={"address": address})})


def example(name: str, **changes: Any) -> EncounterCodedV1:
    """Example `name` as a new encounter of a new patient, ready for an 837."""
    event = writable(event_of(name, today=dt.date.today()))
    return event.model_copy(update={"encounter_id": uuid.uuid4(), "patient_id": uuid.uuid4(), **changes})


def billed_to_primary(event: EncounterCodedV1) -> EncounterCodedV1:
    """The secondary example as first billed: to its primary, the secondary coverage among the others."""
    primary = event.other_coverages[0]
    assert event.coverage is not None and primary.responsibility == "P"
    return event.model_copy(
        update={
            "payer_id": primary.payer.payer_id,
            "coverage": primary,
            "other_coverages": [event.coverage],
            "prior_payer_adjudications": [],
        }
    )


async def produce_all(kafka: KafkaAccess, tenant: str, events: list[EncounterCodedV1]) -> list[str]:
    """Put `events` on `encounter-coded` in order; their event ids."""
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    ids = []
    try:
        for event in events:
            envelope = EventEnvelope.new(
                source="/tests/intake", subject=str(event.encounter_id), tenant=tenant, payload=event
            )
            key, value, headers = to_kafka(envelope)
            await producer.send_and_wait(ENCOUNTER_CODED.name, value, key=key, headers=headers)
            ids.append(envelope.id)
    finally:
        await producer.stop()
    return ids
