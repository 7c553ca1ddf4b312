"""Writing events: the outbox row commits in the same transaction as the state change.

A row holds the event's ce attributes and trace context (`envelope`) apart from its payload (`payload`), and says
whether that payload is emptied once published (`phi`): the relay's mark then rewrites only a short tail of the row
(`shared.messaging.relay.claim_and_mark`). Rows written before that split hold the payload inside the envelope
(`payload` NULL); the relay reads and empties those as before.

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
from shared.events.catalog import EVENT_TYPES, EventPayload
from shared.events.envelope import EventEnvelope, KafkaHeaders, kafka_headers, payload_bytes
from shared.events.wire import WirePayload
from shared.phi.fields import marked_paths

COPY_AT_LEAST = 1000
"""Events per batch from which COPY is used: below it one multi-row INSERT is as quick."""
_COPY_COLUMNS = ("event_id", "topic", "message_key", "event_type", "tenant_id", "envelope", "phi", "payload")
"""The outbox columns COPY writes, in the order of its records."""
_JSON = msgspec.json.Encoder()


Payload = EventPayload | WirePayload
OutgoingEvent = tuple[str, Payload] | tuple[str, Payload, Mapping[str, str] | None]
"""An event to add: its subject and payload (a catalog model or its `wire` mirror), optionally the trace context
it continues (None or empty: the caller's)."""


PHI_EVENT_TYPES = tuple(sorted(name for name, (_, model) in EVENT_TYPES.items() if marked_paths(model)))
"""Event types whose payload model marks a field `x-phi` (`encounter-coded`, `party-changed`,
`coverage-correction-requested`, `claim-submitted`'s member digest)."""

_PHI_EVENT_TYPES = frozenset(PHI_EVENT_TYPES)


def emptied_once_published(event_type: str, payload: bytes) -> bool:
    """Whether a published row keeps no payload: an event type with `x-phi` fields, or a payload with a `phi` block
    (a top-level `phi` key), so that outbox rows keep no PHI once published."""
    return event_type in _PHI_EVENT_TYPES or payload_has_phi_block(payload)


class StoredEnvelope(TypedDict):
    """The `envelope` JSON column with the payload (`data`) put back: ce attributes, the JSON payload and the trace
    context (`row_to_envelope`)."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    data: dict[str, Any]
    trace_headers: dict[str, str]


def stored_json(envelope: EventEnvelope) -> str:
    """The `envelope` column of an event as JSON text: its ce attributes and trace context, without the payload (the
    `payload` column: `EventEnvelope.value`, its bytes not decoded or re-encoded)."""
    return _JSON.encode(
        StoredAttributes(
            id=envelope.id,
            type=envelope.type,
            source=envelope.source,
            subject=envelope.subject,
            tenant=envelope.tenant,
            time=envelope.time.isoformat(),
            trace_headers=envelope.trace_headers,
        )
    ).decode()


_TEXT_ARRAYS = ("event_ids", "topics", "keys", "event_types", "tenants", "envelopes", "payloads")


def outbox_insert(table: sa.Table) -> sa.TextClause:
    """Insert a batch of events from one array per column, the envelopes and payloads as JSON text, kept as written
    (one statement)."""
    name = f"{table.schema}.{table.name}" if table.schema else table.name  # plain identifiers, as traces show them
    return sa.text(
        f"INSERT INTO {name} (event_id, topic, message_key, event_type, tenant_id, envelope, phi, payload) "  # noqa: S608
        "SELECT * FROM unnest(CAST(CAST(:event_ids AS text[]) AS uuid[]), CAST(:topics AS text[]), "
        "CAST(:keys AS text[]), CAST(:event_types AS text[]), CAST(:tenants AS text[]), "
        "CAST(CAST(:envelopes AS text[]) AS json[]), CAST(:phi AS boolean[]), "
        "CAST(CAST(:payloads AS text[]) AS json[]))"
    ).bindparams(
        *(sa.bindparam(name, type_=ARRAY(sa.Text)) for name in _TEXT_ARRAYS),
        sa.bindparam("phi", type_=ARRAY(sa.Boolean)),
    )


class StoredAttributes(msgspec.Struct, frozen=True):
    """The `envelope` column as `stored_json` writes it: ce attributes and trace context."""

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: str
    """`datetime.isoformat()` of an aware time."""
    trace_headers: dict[str, str] = {}


class StoredWire(StoredAttributes, frozen=True, kw_only=True):
    """A stored event as the relay reads it: the attributes decoded, the data kept as the JSON text it is (the
    `payload` column, or, in a row written before the split, the `envelope`'s own `data`)."""

    data: msgspec.Raw


_WIRE_DECODER = msgspec.json.Decoder(StoredWire)


def decode_stored(envelope_json: str | bytes, payload_json: str | None = None) -> StoredWire:
    """A stored event's attributes, its data kept as JSON text: the `payload` column when given, else the data inside
    the envelope (a row written before the split, whose envelope the relay empties itself: `emptied_stored`)."""
    if payload_json is None:
        return _WIRE_DECODER.decode(envelope_json)
    attributes = _ATTRIBUTES_DECODER.decode(envelope_json)
    return StoredWire(
        id=attributes.id,
        type=attributes.type,
        source=attributes.source,
        subject=attributes.subject,
        tenant=attributes.tenant,
        time=attributes.time,
        trace_headers=attributes.trace_headers,
        data=msgspec.Raw(payload_json),
    )


_ATTRIBUTES_DECODER = msgspec.json.Decoder(StoredAttributes)


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


def payload_has_phi_block(payload: bytes) -> bool:
    """Whether a JSON payload has a `phi` block (a top-level `phi` key)."""
    if b'"phi"' not in payload:  # the common case, without decoding the payload's members
        return False
    try:
        return "phi" in _MEMBERS_DECODER.decode(payload)
    except msgspec.ValidationError:  # not an object
        return False


_EMPTY = msgspec.Raw(b"{}")
_MEMBERS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
"""A payload's top-level members, each left as its JSON text (nothing nested is built)."""


def emptied_stored(stored: StoredWire) -> str:
    """A decoded stored envelope with its payload emptied: the ce attributes and trace context as stored."""
    return _JSON.encode(msgspec.structs.replace(stored, data=_EMPTY)).decode()


def row_to_envelope(stored: StoredEnvelope) -> EventEnvelope:
    """An event from its stored envelope with its payload as `data` (`{**envelope, "data": payload}` of a row)."""
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
                    "phi": [emptied_once_published(e.type, e.value) for e in envelopes],
                    "payloads": [e.value.decode() for e in envelopes],
                },
            )

    async def _copy(self, session: AsyncSession, envelopes: Sequence[EventEnvelope]) -> None:
        records = [
            (
                uuid.UUID(e.id),
                e.topic,
                e.subject,
                e.type,
                e.tenant,
                stored_json(e),
                emptied_once_published(e.type, e.value),
                e.value.decode(),
            )
            for e in envelopes
        ]
        driver = await driver_connection(session)
        await driver.copy_records_to_table(
            self._table.name, schema_name=self._table.schema, columns=list(_COPY_COLUMNS), records=records
        )
