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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import driver_connection
from shared.events.catalog import EventPayload
from shared.events.envelope import EventEnvelope, KafkaHeaders, kafka_headers, payload_bytes
from shared.events.wire import WirePayload

COPY_AT_LEAST = 1000
"""Events per batch from which COPY is used: below it one multi-row INSERT is as quick."""
_COPY_COLUMNS = ("event_id", "topic", "message_key", "event_type", "tenant_id", "envelope")
"""The outbox columns COPY writes, in the order of its records."""
_JSON = msgspec.json.Encoder()


Payload = EventPayload | WirePayload
OutgoingEvent = tuple[str, Payload] | tuple[str, Payload, Mapping[str, str] | None]
"""An event to add: its subject and payload (a catalog model or its `wire` mirror), optionally the trace context
it continues (None or empty: the caller's)."""


class StoredEnvelope(TypedDict):
    """The `envelope` JSON column: ce attributes, the JSON payload and the trace context."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    data: dict[str, Any]
    trace_headers: dict[str, str]


def stored_json(envelope: EventEnvelope) -> str:
    """The `envelope` column of an event as JSON text: its payload's bytes are not decoded or re-encoded."""
    return _JSON.encode(
        StoredWire(
            id=envelope.id,
            type=envelope.type,
            source=envelope.source,
            subject=envelope.subject,
            tenant=envelope.tenant,
            time=envelope.time.isoformat(),
            data=msgspec.Raw(envelope.value),
            trace_headers=envelope.trace_headers,
        )
    ).decode()


_INSERT_ARRAYS = ("event_ids", "topics", "keys", "event_types", "tenants", "envelopes")


def outbox_insert(table: sa.Table) -> sa.TextClause:
    """Insert a batch of events from one array per column, the envelopes as JSON text, kept as written (one
    statement)."""
    name = f"{table.schema}.{table.name}" if table.schema else table.name  # plain identifiers, as traces show them
    return sa.text(
        f"INSERT INTO {name} (event_id, topic, message_key, event_type, tenant_id, envelope) "  # noqa: S608
        "SELECT * FROM unnest(CAST(CAST(:event_ids AS text[]) AS uuid[]), CAST(:topics AS text[]), "
        "CAST(:keys AS text[]), CAST(:event_types AS text[]), CAST(:tenants AS text[]), "
        "CAST(CAST(:envelopes AS text[]) AS json[]))"
    ).bindparams(
        *(
            sa.bindparam(name, type_=ARRAY(sa.Text))
            for name in ("event_ids", "topics", "keys", "event_types", "tenants", "envelopes")
        )
    )


class StoredWire(msgspec.Struct, frozen=True):
    """The `envelope` column (`StoredEnvelope`) as msgspec writes it (`stored_json`) and the relay reads it: the
    attributes decoded, the data kept as the JSON text it is."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    """`datetime.isoformat()` of an aware time."""
    data: msgspec.Raw
    trace_headers: dict[str, str] = {}


_WIRE_DECODER = msgspec.json.Decoder(StoredWire)


def wire_column(table: sa.Table) -> sa.ColumnElement[str]:
    """The `envelope` column as `decode_stored` takes it: the JSON text as the producer wrote it (`stored_json`),
    one detoast per row and no conversion, so its data is the producer's own serialisation of the payload
    (`EventEnvelope.value`, msgspec's compact JSON) and goes to Kafka as it is.

    (While the column was JSONB the relay sent Postgres's text of it: `json.dumps`'s separators, keys in jsonb's
    order. Taking that here again, `CAST(CAST(envelope AS jsonb) AS text)`, costs a parse per row: measured by
    bench/outbox_sql.py, claim + mark 12 -> 36 µs of Postgres CPU per encounter-coded event.)"""
    return sa.cast(table.c.envelope, sa.Text).label("envelope")


def decode_stored(envelope_json: str | bytes) -> StoredWire:
    """The stored envelope's attributes, its data kept as JSON text: decoded once, for both the Kafka record
    (`kafka_record`) and what the row keeps once published (`emptied_stored`)."""
    return _WIRE_DECODER.decode(envelope_json)


def kafka_record(stored: StoredWire) -> tuple[bytes, bytes, KafkaHeaders]:
    """Key, value and headers of a decoded stored event: the same bytes `to_kafka(row_to_envelope(...))` gives,
    without building the payload dict.

    The data's text is the value when it is ASCII: a row `stored_json` wrote holds the producer's serialisation
    itself; a row stored while the column was JSONB holds Postgres's text of it, `json.dumps`'s separators, which
    a dict read from it re-encodes to the same bytes (the catalog has no floats: money is cents, quantities are
    strings). A non-ASCII payload is re-encoded in the SDK's form (ASCII escapes).
    """
    time = stored.time[:-6] + "Z" if stored.time.endswith("+00:00") else stored.time
    key = stored.subject.encode()
    headers = kafka_headers(
        id=stored.id,
        type=stored.type,
        source=stored.source,
        subject=key,
        time=time,
        tenant=stored.tenant,
        trace_headers=stored.trace_headers,
    )
    data = bytes(stored.data)
    value = data if data.isascii() else payload_bytes(json.loads(data))
    return key, value, headers


def stored_has_phi_block(stored: StoredWire) -> bool:
    """Whether a decoded stored envelope's payload has a `phi` block (a top-level `phi` key)."""
    data = bytes(stored.data)
    if b'"phi"' not in data:  # the common case, without decoding the payload's members
        return False
    try:
        return "phi" in _MEMBERS_DECODER.decode(data)
    except msgspec.ValidationError:  # not an object
        return False


_EMPTY = msgspec.Raw(b"{}")
_MEMBERS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
"""A payload's top-level members, each left as its JSON text (nothing nested is built)."""


def emptied_stored(stored: StoredWire) -> str:
    """A decoded stored envelope with its payload emptied: the ce attributes and trace context as stored."""
    return _JSON.encode(msgspec.structs.replace(stored, data=_EMPTY)).decode()


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
        self._insert = outbox_insert(table)

    async def add(
        self, session: AsyncSession, *, tenant: str, subject: str, payload: EventPayload | WirePayload
    ) -> EventEnvelope:
        envelopes = await self.add_many(session, tenant=tenant, events=[(subject, payload)])
        return envelopes[0]

    async def add_many(
        self, session: AsyncSession, *, tenant: str, events: Sequence[OutgoingEvent]
    ) -> list[EventEnvelope]:
        """One multi-row insert (COPY for a large batch). Each event carries the trace context given
        with it (`(subject, payload, trace_headers)`: work done for a claim later, in another trace,
        such as its 837 batch), else the caller's."""
        envelopes = self.envelopes_of(tenant=tenant, events=events)
        await self.add_envelopes(session, envelopes)
        return envelopes

    def envelopes_of(self, *, tenant: str, events: Sequence[OutgoingEvent]) -> list[EventEnvelope]:
        """The envelopes `add_many` writes (no I/O: a caller may make them in a worker thread, whose context
        carries the caller's trace, while its connection is busy)."""
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
        return envelopes

    async def add_envelopes(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        """Write envelopes made by `envelopes_of` (one multi-row insert, or COPY for a large batch)."""
        if len(envelopes) >= COPY_AT_LEAST:
            await self._copy(session, envelopes)
        elif envelopes:
            await session.execute(
                self._insert,
                {
                    "event_ids": [e.id for e in envelopes],
                    "topics": [e.topic for e in envelopes],
                    "keys": [e.subject for e in envelopes],
                    "event_types": [e.type for e in envelopes],
                    "tenants": [e.tenant for e in envelopes],
                    "envelopes": [stored_json(e) for e in envelopes],
                },
            )

    async def _copy(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        records = [(uuid.UUID(e.id), e.topic, e.subject, e.type, e.tenant, stored_json(e)) for e in envelopes]
        driver = await driver_connection(session)
        await driver.copy_records_to_table(
            self._table.name, schema_name=self._table.schema, columns=list(_COPY_COLUMNS), records=records
        )
