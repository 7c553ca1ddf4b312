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
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, Literal, TypeVar, overload

import msgspec
from pydantic import BaseModel, ValidationError

from shared.events.catalog import EVENT_TYPES, EventPayload
from shared.events.catalog import event_type_of as model_event_type
from shared.events.wire import WIRE_TYPES, WirePayload
from shared.ids import time_ordered_id

TENANT_EXTENSION = "tenant"
JSON_CONTENT_TYPE = "application/json"
SPEC_VERSION = "1.0"
TRACE_HEADERS = ("traceparent", "tracestate")

KafkaHeaders = list[tuple[str, bytes]]
P = TypeVar("P", bound=EventPayload)
W = TypeVar("W", bound=WirePayload)


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
_WIRE_EVENT_TYPES = {wire_type: event_type for event_type, wire_type in WIRE_TYPES.items()}
_FIELD_AT = re.compile(r"at `\$\.(\w+)`")
_FIELD_MISSING = re.compile(r"missing required field `(\w+)`")


class EventEnvelope:
    """One event: its CloudEvents attributes, its payload and the trace context it continues.

    The payload is held as the JSON bytes it travels as (`value`); from Kafka it is decoded once into its
    msgspec mirror (`shared.events.wire`), which is what `payload_as(wire.X)` returns. `data` (the plain JSON
    object) and `payload()` (the pydantic model) are built only when asked for, once. Immutable.
    """

    __slots__ = (
        "_data",
        "_typed",
        "_value",
        "_wire",
        "id",
        "source",
        "subject",
        "tenant",
        "time",
        "trace_headers",
        "type",
    )

    id: str
    type: str
    source: str
    subject: str
    tenant: str
    time: dt.datetime
    trace_headers: dict[str, str]

    def __init__(
        self,
        *,
        id: str,
        type: str,
        source: str,
        subject: str,
        tenant: str,
        time: dt.datetime,
        data: dict[str, Any] | None = None,
        value: bytes | None = None,
        trace_headers: dict[str, str] | None = None,
        wire: WirePayload | MalformedEvent | None = None,
    ) -> None:
        if data is None and value is None:
            raise TypeError("an envelope needs its data or its JSON value")
        self.id = id
        self.type = type
        self.source = source
        self.subject = subject
        self.tenant = tenant
        self.time = time
        self.trace_headers = {} if trace_headers is None else trace_headers
        self._value = value
        self._data = data
        self._typed: EventPayload | None = None
        """The validated pydantic payload once asked for: several handlers of one event validate it once."""
        self._wire = wire
        """The payload's msgspec mirror (or why the payload does not decode into it), once decoded."""

    @classmethod
    def new(
        cls,
        *,
        source: str,
        subject: str,
        tenant: str,
        payload: EventPayload | WirePayload,
        trace_headers: dict[str, str] | None = None,
    ) -> EventEnvelope:
        """A new event; the payload (a catalog model or its wire mirror) is serialised once, by msgspec. Its id is
        time-ordered (`shared.ids`): each consumer's inbox keys on it, so new inbox rows go to the right-hand edge of
        the key's index instead of a random leaf page."""
        return cls(
            id=str(time_ordered_id()),
            type=event_type_of(payload),
            source=source,
            subject=subject,
            tenant=tenant,
            time=dt.datetime.now(dt.UTC),
            value=payload_json(payload),
            trace_headers={} if trace_headers is None else trace_headers,
            wire=payload if isinstance(payload, WirePayload) else None,
        )

    def replace(self, **changes: Any) -> EventEnvelope:
        """A copy with some attributes changed (`trace_headers=...`)."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in _PUBLIC}
        fields.update(value=self._value, data=self._data)
        fields.update(changes)
        return EventEnvelope(**fields)

    @property
    def value(self) -> bytes:
        """The payload as JSON bytes (the message value as it came, or as a producer serialised it)."""
        if self._value is None:
            assert self._data is not None
            self._value = _ENCODER.encode(self._data)
        return self._value

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a plain JSON object (decoded on first use)."""
        if self._data is None:
            assert self._value is not None
            self._data = _decode_object(self._value)
        return self._data

    @property
    def topic(self) -> str:
        return EVENT_TYPES[self.type][0].name

    def payload(self) -> EventPayload:
        """The typed (pydantic) payload; raises MalformedEvent when it does not match its declared type."""
        if self._typed is not None:
            return self._typed
        try:
            _, model = EVENT_TYPES[self.type]
        except KeyError:
            raise MalformedEvent(f"unknown event type {self.type!r}") from None
        self._typed = _validated(self.type, model, self.data)
        return self._typed

    def wire_payload(self) -> WirePayload:
        """The payload as its msgspec mirror (`shared.events.wire`), decoded from the bytes once: the fast typed
        access. It accepts exactly what the pydantic model accepts: what the mirror refuses is judged by the
        model, and its errors are the model's (MalformedEvent naming the field)."""
        wire = self._wire
        if isinstance(wire, WirePayload):
            return wire
        if isinstance(wire, MalformedEvent):
            raise wire
        try:
            wire_type = WIRE_TYPES[self.type]
        except KeyError:
            raise MalformedEvent(f"unknown event type {self.type!r}") from None
        try:
            wire = (
                _WIRE_DECODERS[self.type].decode(self.value) if self._data is None else _convert(self._data, wire_type)
            )
        except (msgspec.ValidationError, msgspec.DecodeError):
            wire = _judged_by_model(self.type, self.data, wire_type)
        self._wire = wire
        if isinstance(wire, MalformedEvent):
            raise wire
        return wire

    @overload
    def payload_as(self, model: builtins.type[W]) -> W: ...

    @overload
    def payload_as(self, model: builtins.type[P]) -> P: ...

    def payload_as(self, model: builtins.type[W] | builtins.type[P]) -> W | P:
        """The typed payload as `model`: a catalog model (pydantic, validated once) or, much faster, its msgspec
        mirror from `shared.events.wire` (same fields, same rules). Another declared type is refused before
        any validation."""
        if type(self._wire) is model:  # the mirror decoded from Kafka, asked for by its own class: nothing to check
            return self._wire
        if issubclass(model, WirePayload):
            declared_wire = WIRE_TYPES.get(self.type)
            if declared_wire is not None and not issubclass(declared_wire, model):
                raise MalformedEvent(f"{self.type} is not a {model.__name__}")
            wire = self.wire_payload()
            if not isinstance(wire, model):
                raise MalformedEvent(f"{self.type} is not a {model.__name__}")
            return wire
        declared = EVENT_TYPES.get(self.type)
        if declared is not None and not issubclass(declared[1], model):
            raise MalformedEvent(f"{self.type} is not a {model.__name__}")
        payload = self.payload()
        if not isinstance(payload, model):
            raise MalformedEvent(f"{self.type} is not a {model.__name__}")
        return payload

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventEnvelope):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _PUBLIC) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]  # mutable payload dict: envelopes are compared, never hashed

    def __repr__(self) -> str:
        return f"EventEnvelope(id={self.id!r}, type={self.type!r}, subject={self.subject!r}, tenant={self.tenant!r})"


_PUBLIC = ("id", "type", "source", "subject", "tenant", "time", "trace_headers")
_ENCODER = msgspec.json.Encoder()
_WIRE_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    event_type: msgspec.json.Decoder(wire_type) for event_type, wire_type in WIRE_TYPES.items()
}
"""Event type to the decoder of its mirror, built at import: building one walks the mirror's annotations (tens of
milliseconds for all), which a lazily built decoder spent in the consumer's first batch of each type."""


def _convert(data: dict[str, Any], wire_type: builtins.type[W]) -> W:
    """A JSON object (as decoded, dates still strings) as its mirror."""
    return msgspec.convert(data, wire_type)


def _judged_by_model(event_type: str, data: dict[str, Any], wire_type: builtins.type[W]) -> W | MalformedEvent:
    """A payload the mirror refused, judged by the pydantic model: its error, or (a value only the model's lax
    mode takes, such as "5" for an int) the mirror of what the model made of it."""
    _, model = EVENT_TYPES[event_type]
    try:
        validated = _validated(event_type, model, data)
    except MalformedEvent as exc:
        return exc
    return _convert(validated.model_dump(mode="json"), wire_type)


def _decode_object(value: bytes) -> dict[str, Any]:
    try:
        return _DATA_DECODER.decode(value)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(f"event data is not a JSON object: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MalformedEvent(f"event data: {exc}") from None


def _validated(event_type: str, model: builtins.type[EventPayload], data: dict[str, Any]) -> EventPayload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedEvent(f"{event_type} payload invalid: {_summarise(exc)}") from None


def _model_fields(model: BaseModel) -> dict[str, Any]:
    """What msgspec encodes for a pydantic model: its fields (nested models come back here)."""
    return model.__dict__


def payload_json(payload: EventPayload | WirePayload) -> bytes:
    """A payload as JSON, by msgspec: the bytes `model_dump(mode="json")` then a JSON encoder would give, in a
    fraction of the time (UUIDs, dates and times in the same ISO forms; fields in declaration order)."""
    return _ENCODER.encode(payload) if isinstance(payload, WirePayload) else _PYDANTIC_ENCODER.encode(payload)


_PYDANTIC_ENCODER = msgspec.json.Encoder(enc_hook=_model_fields)


def _summarise(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def event_type_of(payload: EventPayload | WirePayload) -> str:
    """The event type (`claim-submitted.v1`) of a catalog payload or of its mirror."""
    if isinstance(payload, WirePayload):
        try:
            return _WIRE_EVENT_TYPES[type(payload)]
        except KeyError:
            raise KeyError(f"{type(payload).__name__} is not a registered event payload") from None
    return model_event_type(payload)


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
    *, id: str, type: str, source: str, subject: str | bytes, time: str, tenant: str, trace_headers: dict[str, str]
) -> KafkaHeaders:
    """The ce_* headers in the SDK's order, then the trace context."""
    headers = [
        ("ce_id", id.encode()),
        ("ce_type", type.encode()),
        ("ce_source", source.encode()),
        ("ce_subject", subject if isinstance(subject, bytes) else subject.encode()),
        ("ce_time", time.encode()),
        _CONTENT_TYPE,
        ("ce_tenant", tenant.encode()),
        _SPEC_VERSION,
    ]
    if trace_headers:
        headers.extend((name, value.encode()) for name, value in trace_headers.items())
    return headers


_CONTENT_TYPE = ("content-type", b"application/json")
_SPEC_VERSION = ("ce_specversion", b"1.0")


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


def from_kafka(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    found: Mapping[str, bytes] | None = None,
) -> EventEnvelope:
    """The envelope of one message; its payload decoded into its mirror (`wire`) when the type is known.

    Raises MalformedEvent when a ce_* header is missing or wrong (naming it) or the value is not a JSON object;
    a payload that breaks its model raises on first typed access (`payload_as`, `payload`, `wire_payload`).
    Headers as claimflow writes them take the fast path (one dict of the headers, the attributes read straight
    into the envelope); anything else the careful one, which names what is wrong. `found`: `dict(headers)` when
    the caller already built it.
    """
    if found is None:
        found = dict(headers)
    try:
        id, type, source, tenant = found["ce_id"], found["ce_type"], found["ce_source"], found["ce_tenant"]
        subject = found.get("ce_subject")
        if not (id and type and source and found["ce_specversion"] == b"1.0" and subject != b""):
            raise KeyError
        id_text, type_text, source_text, tenant_text = id.decode(), type.decode(), source.decode(), tenant.decode()
        time = _TIME.decode(b'"' + found["ce_time"] + b'"')
        subject_text = None if subject is None else subject.decode()
    except (KeyError, UnicodeDecodeError, msgspec.ValidationError, msgspec.DecodeError, TypeError, AttributeError):
        return _from_kafka_careful(key, value, headers)
    trace_headers = {}
    if (raw := found.get("traceparent")) is not None:
        trace_headers["traceparent"] = bytes(raw).decode(errors="replace")
    if (raw := found.get("tracestate")) is not None:
        trace_headers["tracestate"] = bytes(raw).decode(errors="replace")
    return _received(key, value, id_text, type_text, source_text, tenant_text, time, subject_text, trace_headers)


def _received(
    key: bytes | None,
    value: bytes | None,
    id: str,
    event_type: str,
    source: str,
    tenant: str,
    time: dt.datetime,
    subject: str | None,
    trace_headers: dict[str, str],
) -> EventEnvelope:
    """The envelope of a message whose attributes are valid: its payload decoded once into its mirror when the
    type has one (else, and when the mirror refuses it, into a plain object, which raises if not JSON)."""
    if not value:
        raise MalformedEvent("message value is empty")
    if type(value) is not bytes:
        value = bytes(value)
    decoder = _WIRE_DECODERS.get(event_type)
    wire: WirePayload | None = None
    data: dict[str, Any] | None = None
    if decoder is not None:
        try:
            wire = decoder.decode(value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            data = _decode_object(value)  # not JSON or not an object: raises; else judged on typed access
    else:
        data = _decode_object(value)
    envelope = _NEW_ENVELOPE(EventEnvelope)
    envelope.id = id
    envelope.type = event_type
    envelope.source = source
    envelope.subject = subject or (key or b"").decode(errors="replace")
    envelope.tenant = tenant
    envelope.time = time
    envelope.trace_headers = trace_headers
    envelope._value = value
    envelope._data = data
    envelope._typed = None
    envelope._wire = wire
    return envelope


_NEW_ENVELOPE = object.__new__


def _from_kafka_careful(key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> EventEnvelope:
    """Any header spelling; a missing or wrong attribute raises MalformedEvent naming its header."""
    attributes, trace_headers = _attributes(headers)
    return _received(
        key,
        value,
        attributes.id,
        attributes.type,
        attributes.source,
        attributes.tenant,
        attributes.time,
        attributes.subject,
        trace_headers,
    )


_TIME = msgspec.json.Decoder(Annotated[dt.datetime, msgspec.Meta(tz=True)])


def _attributes(headers: Sequence[tuple[str, bytes]]) -> tuple[WireAttributes, dict[str, str]]:
    """Any header spelling; a missing or wrong attribute raises MalformedEvent naming its header."""
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
    try:
        return msgspec.convert(attributes, WireAttributes), trace_headers
    except msgspec.ValidationError as exc:
        raise MalformedEvent(_positioned(str(exc))) from None


def _positioned(message: str) -> str:
    """msgspec's `... - at `$.time`` said as the header it came from: `header ce_time: ...`."""
    if (missing := _FIELD_MISSING.search(message)) is not None:
        return f"header ce_{missing.group(1)} missing"
    found = _FIELD_AT.search(message)
    if found is None:
        return f"headers invalid: {message}"
    return f"header ce_{found.group(1)}: {message[: found.start()].rstrip(' -')}"
