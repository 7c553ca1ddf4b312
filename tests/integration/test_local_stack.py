"""The servers behind `servers` are real: Postgres answers, the broker round-trips, the topics exist."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cli.stack import LocalStack, StackEndpoints, StackError
from shared.messaging.topics import all_topic_names

ROOT = Path(__file__).resolve().parents[2]
BOUND = 30.0  # seconds: every broker call is bounded (send_and_wait/stop can hang, aiokafka#1101)


@pytest.mark.integration
async def test_postgres_answers_show_server_version(servers: StackEndpoints) -> None:
    conn = await asyncpg.connect(servers.database_url, timeout=BOUND)
    try:
        version = await conn.fetchval("SHOW server_version")
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
    assert int(version.split(".")[0]) >= 16, version
    assert servers.sqlalchemy_url.startswith("postgresql+asyncpg://")


@pytest.mark.integration
async def test_all_topics_exist_with_their_partition_counts(servers: StackEndpoints) -> None:
    expected = dict(all_topic_names())
    admin = AIOKafkaAdminClient(**servers.kafka.client_options(), request_timeout_ms=10000)
    try:
        async with asyncio.timeout(BOUND):
            await admin.start()
            described = await admin.describe_topics(list(expected))
    finally:
        await admin.close()
    actual = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    assert actual == expected


@pytest.mark.integration
async def test_produce_consume_round_trip_through_the_broker(servers: StackEndpoints) -> None:
    """acks=all + idempotence on the way in; explicit offset commit (offset + 1) on the way out."""
    bootstrap = servers.kafka.client_options()
    topic = f"stack-selftest-{uuid.uuid4().hex[:12]}"  # a scratch topic: pipeline topics stay clean
    admin = AIOKafkaAdminClient(**bootstrap, request_timeout_ms=10000)
    async with asyncio.timeout(BOUND):
        await admin.start()
        await admin.create_topics([NewTopic(topic, 2, 1)])
    producer = AIOKafkaProducer(**bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=10000)
    consumer = AIOKafkaConsumer(
        topic,
        **bootstrap,
        group_id=f"{topic}-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    key, value = b"claim-42", f"round trip {uuid.uuid4()}".encode()
    headers = [("ce_type", b"stack-selftest.v1"), ("ce_id", uuid.uuid4().hex.encode())]
    try:
        async with asyncio.timeout(BOUND):
            await producer.start()
            sent = await producer.send_and_wait(topic, value, key=key, headers=headers)
        async with asyncio.timeout(BOUND):
            await consumer.start()
            received = None
            while received is None:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    received = next((r for r in records if r.value == value), received)
            tp = TopicPartition(received.topic, received.partition)
            await consumer.commit({tp: received.offset + 1})
            committed = await consumer.committed(tp)
    finally:
        for closable in (consumer, producer):
            try:
                async with asyncio.timeout(10):
                    await closable.stop()
            except TimeoutError:
                pass
        try:
            async with asyncio.timeout(BOUND):
                await admin.delete_topics([topic])
        finally:
            await admin.close()
    assert received.key == key
    assert received.value == value
    assert list(received.headers) == headers
    assert (received.partition, received.offset) == (sent.partition, sent.offset)
    assert committed == received.offset + 1


@pytest.mark.integration
def test_local_stack_reports_up_and_is_reused(servers: StackEndpoints, servers_source: str) -> None:
    """`up` on a running stack reuses it; `status` answers from another process via stack.json."""
    if servers_source != "local-stack":
        pytest.skip(f"servers come from {servers_source}, not the local stack")
    stack = LocalStack.for_tests(ROOT)
    status = stack.status()
    assert status.up, status
    assert all(c.managed and c.pid for c in status.components if c.endpoint)
    assert stack.up() == servers  # reused: same ports, same password
    assert stack.paths.state_file.is_file()
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("claimflow")), "stack", "status", "--stack-dir", ".local/test-stack"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "up" in cli.stdout


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.stack.kafka import find_java

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError, match="install a JDK 17"):
        find_java()
