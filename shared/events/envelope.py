"""CloudEvents 1.0 in Kafka binary mode: attributes in `ce_*` headers, the JSON payload as the value."""

from __future__ import annotations

import builtins
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from shared.events.catalog import EVENT_TYPES, EventPayload, event_type_of

TENANT_EXTENSION = "tenant"
JSON_CONTENT_TYPE = "application/json"
_FORMAT = JSONFormat()

KafkaHeaders = list[tuple[str, bytes]]
P = TypeVar("P", bound=EventPayload)


class MalformedEvent(Exception):
    """The message is not a valid claimflow event; retrying cannot help (it goes to the dead-letter topic)."""


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
        try:
            _, model = EVENT_TYPES[self.type]
        except KeyError:
            raise MalformedEvent(f"unknown event type {self.type!r}") from None
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise MalformedEvent(f"{self.type} payload invalid: {_summarise(exc)}") from None

    def payload_as(self, model: builtins.type[P]) -> P:
        payload = self.payload()
        if not isinstance(payload, model):
            raise MalformedEvent(f"{self.type} is not a {model.__name__}")
        return payload


def _summarise(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def to_kafka(envelope: EventEnvelope) -> tuple[bytes, bytes, KafkaHeaders]:
    """Key (the aggregate id), value and headers; trace headers travel beside the ce_* ones."""
    event = CloudEvent(
        attributes={
            "id": envelope.id,
            "type": envelope.type,
            "source": envelope.source,
            "subject": envelope.subject,
            "time": envelope.time,
            "datacontenttype": JSON_CONTENT_TYPE,
            TENANT_EXTENSION: envelope.tenant,
        },
        data=envelope.data,
    )
    message = ce_kafka.to_binary(event, _FORMAT, key_mapper=lambda _: envelope.subject)
    headers = list(message.headers.items())
    headers.extend((name, value.encode()) for name, value in envelope.trace_headers.items())
    return envelope.subject.encode(), message.value, headers


def from_kafka(key: bytes | None, value: bytes | None, headers: KafkaHeaders) -> EventEnvelope:
    header_map = {name: raw for name, raw in headers}
    for required in ("ce_id", "ce_type", "ce_source", "ce_specversion", f"ce_{TENANT_EXTENSION}"):
        if required not in header_map:
            raise MalformedEvent(f"header {required} missing")
    if value is None:
        raise MalformedEvent("message value is empty")
    try:
        event = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=header_map, key=key, value=value), _FORMAT)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"not a CloudEvent: {exc}") from None
    data = event.get_data()
    if not isinstance(data, dict):
        raise MalformedEvent("event data is not a JSON object")
    attributes = event.get_attributes()
    time = attributes.get("time")
    if not isinstance(time, dt.datetime):
        raise MalformedEvent("ce_time missing or not a timestamp")
    trace_headers = {
        name: raw.decode(errors="replace") for name, raw in headers if name in ("traceparent", "tracestate")
    }
    return EventEnvelope(
        id=str(attributes["id"]),
        type=str(attributes["type"]),
        source=str(attributes["source"]),
        subject=str(attributes.get("subject") or (key or b"").decode()),
        tenant=str(attributes[TENANT_EXTENSION]),
        time=time,
        data=data,
        trace_headers=trace_headers,
    )
