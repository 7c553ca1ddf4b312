"""The one idempotent Kafka producer of a process, with every send and stop bounded by a timeout.

aiokafka's defaults are unsafe for money (acks=1); with idempotence on, sends and stop() can hang
while the broker is down (aiokafka#1101), hence the timeouts and the health flag for /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from shared.events.envelope import KafkaHeaders
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.partitioning import murmur2_many, partition_of_hash

log = logging.getLogger(__name__)

# The relay's producer batching; bench/floors.py gives Kafka's own perf tool the same, so the floor it prints is
# what the broker carries for a producer batching like ours. The relay hands over whole record batches, closed, so
# they go without lingering; a batch holds up to 1 MiB, within the broker's default `message.max.bytes` (1 MiB + 12
# bytes), so that a relay batch grown over a backlog (up to 2,000 rows of about 2 KB over 6 partitions) is one record
# batch per partition: aiokafka queues one batch per partition and makes a second wait until the first is sent.
PRODUCER_LINGER_MS = 5
PRODUCER_BATCH_BYTES = 1024 * 1024
PRODUCER_COMPRESSION = "zstd"
"""Each record batch is compressed (zstd, level 3, through cramjam: aiokafka's `zstd` extra). Events of one batch
share their keys and most codes, so a batch shrinks about 25-fold (synthetic practice encounters, 330 to a batch,
about 1.5 µs per event to compress and 0.5 µs to decompress): the relay then checksums, copies and writes a
twentieth of the bytes, and the broker validates a compressed batch without parsing each record's headers and
writes a twentieth to its log. Each batch pays a fixed cost for its compression context (about 20 µs to build and
13 µs to read a batch of one event), which a relay's batch over a backlog (hundreds of events) spreads thin. Every
consumer of the project decompresses with the same library; Kafka's own clients read zstd natively."""


class OutgoingMessage(NamedTuple):
    """One record to publish (a named tuple: the relay builds one per outbox row, and a frozen dataclass's
    `__init__` sets each field through `object.__setattr__`)."""

    topic: str
    key: bytes
    value: bytes
    headers: KafkaHeaders


class KafkaUnavailable(Exception):
    """The broker did not acknowledge in time; the caller retries later."""


class KafkaPublisher:
    def __init__(self, kafka: KafkaAccess, *, client_id: str, send_timeout_s: float, stop_timeout_s: float) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._send_timeout_s = send_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.last_success_monotonic: float | None = None
        self.last_error: str | None = None

    @property
    def healthy(self) -> bool:
        return self._producer is not None and self.last_error is None

    async def _ensure_started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **self._kafka.client_options(),
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=PRODUCER_LINGER_MS,
                    max_batch_size=PRODUCER_BATCH_BYTES,
                    compression_type=PRODUCER_COMPRESSION,
                    request_timeout_ms=int(self._send_timeout_s * 1000),
                )
                try:
                    await asyncio.wait_for(producer.start(), self._send_timeout_s)
                except BaseException as exc:
                    await self._stop_quietly(producer)
                    self.last_error = f"producer start failed: {type(exc).__name__}"
                    raise KafkaUnavailable(self.last_error) from exc
                self._producer = producer
            return self._producer

    async def publish(self, messages: list[OutgoingMessage]) -> None:
        """Send all and wait for every acknowledgement (acks=all), or raise KafkaUnavailable.

        The messages go as record batches, one per partition (the partition the Java client and aiokafka's
        default partitioner pick for the key), each in the given order, all handed over before the first
        acknowledgement is awaited."""
        await (await self.send(messages))

    async def send(self, messages: list[OutgoingMessage]) -> Coroutine[Any, Any, None]:
        """Hand every message to the producer (in order per partition) and return the wait for their
        acknowledgements, which raises KafkaUnavailable; the caller may do other work meanwhile (the relay reads
        its next batch). The send timeout covers both."""
        producer = await self._ensure_started()
        deadline = asyncio.get_running_loop().time() + self._send_timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                futures = []
                for (topic, partition), batch in (await self._by_partition(producer, messages)).items():
                    builder = producer.create_batch()
                    for message in batch:
                        if not _append(builder, message):  # full (and closed): send it, start the next
                            futures.append(await producer.send_batch(builder, topic, partition=partition))
                            builder = producer.create_batch()
                            _append(builder, message)
                    builder.close()  # complete: the sender takes it at once, without lingering for more records
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
        except Exception as exc:
            await self._failed(exc)
            raise KafkaUnavailable(self.last_error) from exc
        return self._acknowledged(futures, deadline)

    async def _acknowledged(self, futures: list[asyncio.Future[object]], deadline: float) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                await asyncio.gather(*futures)
        except Exception as exc:
            await self._failed(exc)
            raise KafkaUnavailable(self.last_error) from exc
        self.last_error = None
        self.last_success_monotonic = time.monotonic()

    async def _failed(self, exc: BaseException) -> None:
        self.last_error = f"send failed: {type(exc).__name__}: {exc}"
        await self._reset()

    @staticmethod
    async def _by_partition(
        producer: AIOKafkaProducer, messages: list[OutgoingMessage]
    ) -> dict[tuple[str, int], list[OutgoingMessage]]:
        """The messages grouped by topic and partition, each group in the given order. The keys are hashed all at
        once (`murmur2_many`): key by key, the hash was an eighth of the relay's CPU."""
        partitions: dict[str, list[int]] = {}
        for topic in {message.topic for message in messages}:
            partitions[topic] = sorted(await producer.partitions_for(topic))
        hashes = murmur2_many([message.key for message in messages])
        batches: dict[tuple[str, int], list[OutgoingMessage]] = {}
        for message, hashed in zip(messages, hashes, strict=True):
            known = partitions[message.topic]
            partition = known[partition_of_hash(hashed, len(known))]
            batches.setdefault((message.topic, partition), []).append(message)
        return batches

    async def _reset(self) -> None:
        """Drop a producer whose state is unknown after a failed send; the next send starts a new one."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop_quietly(producer)

    async def _stop_quietly(self, producer: AIOKafkaProducer) -> None:
        try:
            await asyncio.wait_for(producer.stop(), self._stop_timeout_s)
        except Exception as exc:  # a hung stop must not hang shutdown
            log.warning("kafka producer stop did not finish", extra={"error": type(exc).__name__})

    async def stop(self) -> None:
        await self._reset()


def _append(builder: BatchBuilder, message: OutgoingMessage) -> bool:
    """Add one record to a batch; False when the batch is full (a first record always fits)."""
    added = builder.append(timestamp=None, key=message.key, value=message.value, headers=message.headers)
    return added is not None
