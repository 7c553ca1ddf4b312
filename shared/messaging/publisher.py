"""The one idempotent Kafka producer of a process, with every send and stop bounded by a timeout.

aiokafka's defaults are unsafe for money (acks=1); with idempotence on, sends and stop() can hang
while the broker is down (aiokafka#1101), hence the timeouts and the health flag for /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from shared.events.envelope import KafkaHeaders
from shared.messaging.kafka_access import KafkaAccess

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
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
                    linger_ms=5,
                    max_batch_size=256 * 1024,
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
        """Send all and wait for every acknowledgement (acks=all), or raise KafkaUnavailable."""
        producer = await self._ensure_started()
        try:
            async with asyncio.timeout(self._send_timeout_s):
                futures = [await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers)) for m in messages]
                await asyncio.gather(*futures)
        except Exception as exc:
            self.last_error = f"send failed: {type(exc).__name__}: {exc}"
            await self._reset()
            raise KafkaUnavailable(self.last_error) from exc
        self.last_error = None
        self.last_success_monotonic = time.monotonic()

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
