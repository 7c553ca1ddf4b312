"""Writing events: the outbox row commits in the same transaction as the state change."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, TypedDict

import sqlalchemy as sa
from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.catalog import EventPayload
from shared.events.envelope import EventEnvelope


class StoredEnvelope(TypedDict):
    """The `envelope` JSONB column: ce attributes, the JSON payload and the trace context."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    data: dict[str, Any]
    trace_headers: dict[str, str]


class OutboxRow(TypedDict):
    """The values of one outbox insert."""

    event_id: uuid.UUID
    topic: str
    message_key: str
    event_type: str
    tenant_id: str
    envelope: StoredEnvelope


def envelope_to_row(envelope: EventEnvelope) -> OutboxRow:
    return {
        "event_id": uuid.UUID(envelope.id),
        "topic": envelope.topic,
        "message_key": envelope.subject,
        "event_type": envelope.type,
        "tenant_id": envelope.tenant,
        "envelope": {
            "id": envelope.id,
            "type": envelope.type,
            "source": envelope.source,
            "subject": envelope.subject,
            "tenant": envelope.tenant,
            "time": envelope.time.isoformat(),
            "data": envelope.data,
            "trace_headers": envelope.trace_headers,
        },
    }


def row_to_envelope(stored: StoredEnvelope) -> EventEnvelope:
    return EventEnvelope(
        id=str(stored["id"]),
        type=str(stored["type"]),
        source=str(stored["source"]),
        subject=str(stored["subject"]),
        tenant=str(stored["tenant"]),
        time=dt.datetime.fromisoformat(str(stored["time"])),
        data=dict(stored["data"]),
        trace_headers=dict(stored.get("trace_headers") or {}),
    )


class Outbox:
    """Adds events to the current unit of work; the relay publishes them after commit."""

    def __init__(self, table: sa.Table, source: str) -> None:
        self._table = table
        self._source = source

    async def add(self, session: AsyncSession, *, tenant: str, subject: str, payload: EventPayload) -> EventEnvelope:
        envelopes = await self.add_many(session, tenant=tenant, events=[(subject, payload)])
        return envelopes[0]

    async def add_many(
        self, session: AsyncSession, *, tenant: str, events: list[tuple[str, EventPayload]]
    ) -> list[EventEnvelope]:
        """One multi-row insert for a batch; the trace context of the caller travels with each event."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        envelopes = [
            dataclasses.replace(
                EventEnvelope.new(source=self._source, subject=subject, tenant=tenant, payload=payload),
                trace_headers=carrier,
            )
            for subject, payload in events
        ]
        if envelopes:
            await session.execute(sa.insert(self._table), [envelope_to_row(e) for e in envelopes])
        return envelopes
