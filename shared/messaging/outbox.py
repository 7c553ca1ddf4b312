"""Writing events: the outbox row commits in the same transaction as the state change.

A large batch (a posted 835 of tens of thousands of claim payments) goes in by COPY on the session's
own connection and transaction: rows, trigger (it is statement-level, so COPY wakes the relay too)
and commit are the same as with the INSERT, in a fraction of the time.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import msgspec
import sqlalchemy as sa
from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import driver_connection
from shared.events.catalog import EventPayload
from shared.events.envelope import EventEnvelope, KafkaHeaders, kafka_headers, payload_bytes

COPY_AT_LEAST = 1000
"""Events per batch from which COPY is used: below it one multi-row INSERT is as quick."""
_COPY_COLUMNS = ("event_id", "topic", "message_key", "event_type", "tenant_id", "envelope")
"""The outbox columns COPY writes, in the order of its records."""
_JSON = msgspec.json.Encoder()


OutgoingEvent = tuple[str, EventPayload] | tuple[str, EventPayload, Mapping[str, str] | None]
"""An event to add: its subject and payload, optionally the trace context it continues (None or empty: the caller's)."""


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


class StoredAttributes(msgspec.Struct, frozen=True):
    """The `envelope` column without its data, as the relay reads it (`envelope - 'data'`)."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    """`datetime.isoformat()` of an aware time."""
    trace_headers: dict[str, str] = {}


_ATTRIBUTES_DECODER = msgspec.json.Decoder(StoredAttributes)


def wire_columns(table: sa.Table) -> tuple[sa.ColumnElement[str], sa.ColumnElement[str]]:
    """The `envelope` column as `stored_to_kafka` takes it: the attributes without the data, and the data,
    each as the text Postgres writes."""
    data: sa.ColumnElement[str] = sa.literal_column("'data'::text")
    return (
        sa.cast(table.c.envelope.op("-")(data), sa.Text).label("attributes"),
        sa.cast(table.c.envelope.op("->")(data), sa.Text).label("data"),
    )


def stored_to_kafka(attributes_json: str, data_json: str) -> tuple[bytes, bytes, KafkaHeaders]:
    """Key, value and headers of a stored event, from the column's text as Postgres writes it: the same bytes
    `to_kafka(row_to_envelope(...))` gives, without building the payload dict.

    Postgres writes a jsonb object with `json.dumps`'s separators, and the dict read from it keeps its key
    order, so for an ASCII payload with no floats (the catalog has none: money is cents, quantities are
    strings) the text is already the value; anything else is re-encoded.
    """
    stored = _ATTRIBUTES_DECODER.decode(attributes_json)
    time = stored.time[:-6] + "Z" if stored.time.endswith("+00:00") else stored.time
    headers = kafka_headers(
        id=stored.id,
        type=stored.type,
        source=stored.source,
        subject=stored.subject,
        time=time,
        tenant=stored.tenant,
        trace_headers=stored.trace_headers,
    )
    value = data_json.encode() if data_json.isascii() else payload_bytes(json.loads(data_json))
    return stored.subject.encode(), value, headers


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
        self, session: AsyncSession, *, tenant: str, events: Sequence[OutgoingEvent]
    ) -> list[EventEnvelope]:
        """One multi-row insert (COPY for a large batch). Each event carries the trace context given
        with it (`(subject, payload, trace_headers)`: work done for a claim later, in another trace,
        such as its 837 batch), else the caller's."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        envelopes = []
        for event in events:
            own = event[2] if len(event) == 3 else None
            envelopes.append(
                EventEnvelope.new(
                    source=self._source,
                    subject=event[0],
                    tenant=tenant,
                    payload=event[1],
                    trace_headers=dict(own) if own else carrier,
                )
            )
        if len(envelopes) >= COPY_AT_LEAST:
            await self._copy(session, envelopes)
        elif envelopes:
            await session.execute(sa.insert(self._table), [envelope_to_row(e) for e in envelopes])
        return envelopes

    async def _copy(self, session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
        records = []
        for envelope in envelopes:
            row = envelope_to_row(envelope)
            records.append(
                (
                    row["event_id"],
                    row["topic"],
                    row["message_key"],
                    row["event_type"],
                    row["tenant_id"],
                    _JSON.encode(row["envelope"]).decode(),
                )
            )
        driver = await driver_connection(session)
        await driver.copy_records_to_table(
            self._table.name, schema_name=self._table.schema, columns=list(_COPY_COLUMNS), records=records
        )
