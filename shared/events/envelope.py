"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the JSON payload as the value.

Encoded and decoded with msgspec on the hot paths (the relay publishes, every consumer decodes), byte for
byte the form the cloudevents SDK wrote before: the same headers in the same order, the payload as
`json.dumps` writes it. Decoding is validated: a wrong or missing attribute names its header, bad JSON its
byte. The payload stays a plain dict until a handler asks for its typed (pydantic) model.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
from pydantic import ValidationError

from shared.events.catalog import EVENT_TYPES, EventPayload, event_type_of

TENANT_EXTENSION = "tenant"
JSON_CONTENT_TYPE = "application/json"
SPEC_VERSION = "1.0"
TRACE_HEADERS = ("traceparent", "tracestate")

KafkaHeaders = list[tuple[str, bytes]]
P = TypeVar("P", bound=EventPayload)


class MalformedEvent(Exception):
    """The message is not a valid claimflow event; retrying cannot help (it goes to the dead-letter topic)."""


NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class WireAttributes(msgspec.Struct, frozen=True):
    """The `ce_*` headers of one message (names without the prefix), as the consumer validates them."""

    id: NonEmpty
    type: NonEmpty
    source: NonEmpty
    specversion: Literal["1.0"]
    tenant: str
    time: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    subject: NonEmpty | None = None


REQUIRED_HEADERS: Final = ("ce_id", "ce_type", "ce_source", "ce_specversion", f"ce_{TENANT_EXTENSION}")
_DATA_DECODER = msgspec.json.Decoder(dict[str, Any])
_FIELD_AT = re.compile(r"at `\$\.(\w+)`")
_FIELD_MISSING = re.compile(r"missing required field `(\w+)`")


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: dt.datetime
    data: dict[str, Any]
    trace_headers: dict[str, str] = field(default_factory=dict)
    _typed: list[EventPayload] = field(default_factory=list, init=False, repr=False, compare=False)
    """The validated payload once a handler asked for it: several handlers of one event validate it once
    (payload models are frozen, so they can share it)."""

    @classmethod
    def new(
        cls,
        *,
        source: str,
        subject: str,
        tenant: str,
        payload: EventPayload,
        trace_headers: dict[str, str] | None = None,
    ) -> EventEnvelope:
        return cls(
            id=str(uuid.uuid4()),
            type=event_type_of(payload),
            source=source,
            subject=subject,
            tenant=tenant,
            time=dt.datetime.now(dt.UTC),
            data=payload.model_dump(mode="json"),
            trace_headers={} if trace_headers is None else trace_headers,
        )

    @property
    def topic(self) -> str:
        return EVENT_TYPES[self.type][0].name

    def payload(self) -> EventPayload:
        """The typed payload; raises MalformedEvent when it does not match its declared type."""
        if self._typed:
            return self._typed[0]
        try:
            _, model = EVENT_TYPES[self.type]
        except KeyError:
            raise MalformedEvent(f"unknown event type {self.type!r}") from None
        payload = _validated(self.type, model, self.data)
        self._typed.append(payload)
        return payload

    def payload_as(self, model: builtins.type[P]) -> P:
        """The typed payload as `model`; another declared type is refused before any validation."""
        declared = EVENT_TYPES.get(self.type)
        if declared is not None and not issubclass(declared[1], model):
            raise MalformedEvent(f"{self.type} is not a {model.__name__}")
        payload = self.payload()
        if not isinstance(payload, model):
            raise MalformedEvent(f"{self.type} is not a {model.__name__}")
        return payload


def _validated(event_type: str, model: builtins.type[EventPayload], data: dict[str, Any]) -> EventPayload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedEvent(f"{event_type} payload invalid: {_summarise(exc)}") from None


def _summarise(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def header_time(time: dt.datetime) -> str:
    """RFC 3339 as the CloudEvents SDK writes it: `Z` for UTC."""
    text = time.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return header_time(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def payload_bytes(data: dict[str, Any]) -> bytes:
    """The Kafka value: `json.dumps` with its default separators and ASCII escapes (the SDK's form)."""
    return json.dumps(data, default=_json_default).encode()


def kafka_headers(
    *, id: str, type: str, source: str, subject: str, time: str, tenant: str, trace_headers: dict[str, str]
) -> KafkaHeaders:
    """The ce_* headers in the SDK's order, then the trace context."""
    headers = [
        ("ce_id", id.encode()),
        ("ce_type", type.encode()),
        ("ce_source", source.encode()),
        ("ce_subject", subject.encode()),
        ("ce_time", time.encode()),
        ("content-type", b"application/json"),
        ("ce_tenant", tenant.encode()),
        ("ce_specversion", b"1.0"),
    ]
    headers.extend((name, value.encode()) for name, value in trace_headers.items())
    return headers


def to_kafka(envelope: EventEnvelope) -> tuple[bytes, bytes, KafkaHeaders]:
    """Key (the aggregate id), value and headers; trace headers travel beside the ce_* ones."""
    headers = kafka_headers(
        id=envelope.id,
        type=envelope.type,
        source=envelope.source,
        subject=envelope.subject,
        time=header_time(envelope.time),
        tenant=envelope.tenant,
        trace_headers=envelope.trace_headers,
    )
    return envelope.subject.encode(), payload_bytes(envelope.data), headers


def from_kafka(key: bytes | None, value: bytes | None, headers: KafkaHeaders) -> EventEnvelope:
    attributes: dict[str, str] = {}
    trace_headers: dict[str, str] = {}
    try:
        for name, raw in headers:
            lowered = name.lower()
            if lowered.startswith("ce_"):
                attributes[lowered[3:]] = bytes(raw).decode()
            elif lowered in TRACE_HEADERS:
                trace_headers[lowered] = bytes(raw).decode(errors="replace")
    except UnicodeDecodeError:
        raise MalformedEvent(f"header {name} is not UTF-8") from None
    for required in REQUIRED_HEADERS:
        if required[3:] not in attributes:
            raise MalformedEvent(f"header {required} missing")
    if not value:
        raise MalformedEvent("message value is empty")
    try:
        wire = msgspec.convert(attributes, WireAttributes)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(_positioned(str(exc))) from None
    try:
        data = _DATA_DECODER.decode(value)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(f"event data is not a JSON object: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MalformedEvent(f"event data: {exc}") from None
    return EventEnvelope(
        id=wire.id,
        type=wire.type,
        source=wire.source,
        subject=wire.subject or (key or b"").decode(errors="replace"),
        tenant=wire.tenant,
        time=wire.time,
        data=data,
        trace_headers=trace_headers,
    )


def _positioned(message: str) -> str:
    """msgspec's `... - at `$.time`` said as the header it came from: `header ce_time: ...`."""
    if (missing := _FIELD_MISSING.search(message)) is not None:
        return f"header ce_{missing.group(1)} missing"
    found = _FIELD_AT.search(message)
    if found is None:
        return f"headers invalid: {message}"
    return f"header ce_{found.group(1)}: {message[: found.start()].rstrip(' -')}"
