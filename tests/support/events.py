"""Events as the services publish them (CloudEvents in Kafka binary mode, keyed by aggregate), for tests that
drive a consumer without running its producers."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from shared.events.catalog import EventPayload
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess


async def publish(kafka: KafkaAccess, tenant: str, payloads: list[EventPayload]) -> list[EventEnvelope]:
    """One envelope per payload, all through one idempotent producer."""
    envelopes = [
        EventEnvelope.new(source="/tests", subject=str(uuid.uuid4()), tenant=tenant, payload=payload)
        for payload in payloads
    ]
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for envelope in envelopes:
            key, value, headers = to_kafka(envelope)
            await producer.send(envelope.topic, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()
    return envelopes
