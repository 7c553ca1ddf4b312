"""Kafka is secured like the database: no anonymous client, SCRAM principals, one set of ACLs per service.

Defect #6: a forged `claim-denied` written straight to the topic created a denial case, and any local
process could read PHI from `encounter-coded`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from cli.stack import StackEndpoints
from shared.events.catalog import ClaimDeniedV1
from shared.events.envelope import EventEnvelope, to_kafka
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.principals import SERVICE_PRINCIPALS
from shared.messaging.topics import CLAIM_DENIED, CLAIM_SUBMITTED, ENCOUNTER_CODED
from tests.support.pipeline import end_offsets

BOUND = 30.0


@pytest.fixture
def secured(servers: StackEndpoints) -> StackEndpoints:
    if servers.kafka_credentials is None:
        pytest.skip("the broker from the environment takes anonymous clients; the local stack runs SASL/SCRAM")
    return servers


def forged_denial() -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    payload = ClaimDeniedV1(
        claim_id=uuid.uuid4(),
        claim_control_number="CF0000000001",
        payer_id="SANDBOX",
        trace_number="FORGED",
        denial="full",
        denied_cents=15500,
        carcs=["CO-50"],
    )
    envelope = EventEnvelope.new(source="/forged", subject=str(payload.claim_id), tenant="tenant-x", payload=payload)
    return to_kafka(envelope)


async def try_produce(kafka: KafkaAccess, topic: str) -> None:
    """Start a producer as `kafka` and write one forged denial to `topic`; raises what the broker answers."""
    key, value, headers = forged_denial()
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all", enable_idempotence=True, request_timeout_ms=5000)
    try:
        async with asyncio.timeout(BOUND):
            await producer.start()
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        async with asyncio.timeout(BOUND):
            await producer.stop()


async def try_read(kafka: KafkaAccess, topic: str) -> int:
    """Subscribe as `kafka` in a group of its own name and poll once; how many records came (or what was raised)."""
    consumer = AIOKafkaConsumer(
        topic,
        **kafka.client_options(),
        group_id=f"{kafka.username}-probe-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        async with asyncio.timeout(BOUND):
            await consumer.start()
            batches = await consumer.getmany(timeout_ms=3000)
            return sum(len(records) for records in batches.values())
    finally:
        async with asyncio.timeout(BOUND):
            await consumer.stop()


async def test_a_forged_produce_without_credentials_is_refused(secured: StackEndpoints) -> None:
    before = await end_offsets(secured.kafka, CLAIM_DENIED.name)
    anonymous = KafkaAccess(secured.kafka_bootstrap_servers)  # PLAINTEXT, no principal
    with pytest.raises((KafkaError, OSError, TimeoutError)):
        await try_produce(anonymous, CLAIM_DENIED.name)
    wrong_password = secured.kafka_as("remittance").as_principal("remittance", "not-the-password-" + "x" * 20)
    with pytest.raises((KafkaError, OSError, TimeoutError)):
        await try_produce(wrong_password, CLAIM_DENIED.name)
    assert await end_offsets(secured.kafka, CLAIM_DENIED.name) == before, "nothing was written"


async def test_a_service_principal_writes_only_its_own_topics(secured: StackEndpoints) -> None:
    intake = secured.kafka_as("intake")
    assert not SERVICE_PRINCIPALS["intake"].may_write(CLAIM_DENIED.name)
    before = await end_offsets(secured.kafka, CLAIM_DENIED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await try_produce(intake, CLAIM_DENIED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await try_produce(secured.kafka_as("denials"), CLAIM_SUBMITTED.name)
    assert await end_offsets(secured.kafka, CLAIM_DENIED.name) == before

    # the owner may: remittance sees claim-denied as a topic it can write (nothing is written here)
    owner = secured.kafka_as("remittance")
    assert SERVICE_PRINCIPALS["remittance"].may_write(CLAIM_DENIED.name)
    producer = AIOKafkaProducer(**owner.client_options(), acks="all", enable_idempotence=True)
    async with asyncio.timeout(BOUND):
        await producer.start()
        try:
            await producer.partitions_for(CLAIM_DENIED.name)
        finally:
            await producer.stop()


async def test_a_service_principal_reads_only_what_it_consumes(secured: StackEndpoints) -> None:
    """`encounter-coded` carries PHI for claims: remittance and the analytics sink's peers may not read it."""
    assert not SERVICE_PRINCIPALS["remittance"].may_read(ENCOUNTER_CODED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await try_read(secured.kafka_as("remittance"), ENCOUNTER_CODED.name)
    with pytest.raises(KafkaError):  # intake consumes nothing: neither the topic nor any group is its own
        await try_read(secured.kafka_as("intake"), ENCOUNTER_CODED.name)
    assert await try_read(secured.kafka_as("claims"), ENCOUNTER_CODED.name) >= 0  # its consumer: allowed


async def test_a_service_principal_cannot_use_another_services_consumer_group(secured: StackEndpoints) -> None:
    remittance = secured.kafka_as("remittance")
    consumer = AIOKafkaConsumer(
        CLAIM_SUBMITTED.name, **remittance.client_options(), group_id="claims", enable_auto_commit=False
    )
    with pytest.raises(KafkaError):
        try:
            async with asyncio.timeout(BOUND):
                await consumer.start()
                await consumer.getmany(timeout_ms=5000)
        finally:
            async with asyncio.timeout(BOUND):
                await consumer.stop()


def test_access_repr_hides_the_password() -> None:
    access = KafkaAccess("127.0.0.1:1").as_principal("claims", "s3cret-password")
    assert "s3cret" not in repr(access) and "s3cret" not in str(access)
    assert dataclasses.replace(access, password=None).env().get("CLAIMFLOW_KAFKA_SASL_PASSWORD") is None
