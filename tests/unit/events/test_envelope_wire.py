"""The msgspec codec writes and reads exactly what the cloudevents SDK put on the topics before it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events.catalog import EVENT_TYPES, ClaimDeniedV1
from shared.events.envelope import EventEnvelope, MalformedEvent, from_kafka, to_kafka

TODAY_KEY = b"claim-1"
TODAY_VALUE = (
    b'{"claim_id": null, "claim_control_number": "CLM-0001", "payer_id": "SANDBOX", "trace_number": "TRN1", '
    b'"denial": "full", "denied_cents": 12500, "currency": "USD", "carcs": ["50"], "rarcs": ["N115"], "lines": []}'
)
TODAY_HEADERS = [
    ("ce_id", b"5f1e6a53-9c1b-4d5e-8f00-0123456789ab"),
    ("ce_type", b"claim-denied.v1"),
    ("ce_source", b"/claimflow/remittance"),
    ("ce_subject", b"claim-1"),
    ("ce_time", b"2026-11-29T12:30:45.123456Z"),
    ("content-type", b"application/json"),
    ("ce_tenant", b"t-1"),
    ("ce_specversion", b"1.0"),
    ("traceparent", b"00-11111111111111111111111111111111-2222222222222222-01"),
]
"""A claim-denied message as the cloudevents SDK wrote it (captured before the msgspec codec)."""


def _today_envelope() -> EventEnvelope:
    return EventEnvelope(
        id="5f1e6a53-9c1b-4d5e-8f00-0123456789ab",
        type="claim-denied.v1",
        source="/claimflow/remittance",
        subject="claim-1",
        tenant="t-1",
        time=dt.datetime(2026, 11, 29, 12, 30, 45, 123456, tzinfo=dt.UTC),
        data=ClaimDeniedV1(
            claim_control_number="CLM-0001",
            payer_id="SANDBOX",
            trace_number="TRN1",
            denial="full",
            denied_cents=12500,
            carcs=["50"],
            rarcs=["N115"],
        ).model_dump(mode="json"),
        trace_headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    )


def test_todays_message_decodes_to_the_same_envelope() -> None:
    assert from_kafka(TODAY_KEY, TODAY_VALUE, TODAY_HEADERS) == _today_envelope()


def test_encoding_writes_todays_bytes() -> None:
    assert to_kafka(_today_envelope()) == (TODAY_KEY, TODAY_VALUE, TODAY_HEADERS)


def _sdk_message(envelope: EventEnvelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """What the SDK-based encoder wrote, for any envelope."""
    event = CloudEvent(
        attributes={
            "id": envelope.id,
            "type": envelope.type,
            "source": envelope.source,
            "subject": envelope.subject,
            "time": envelope.time,
            "datacontenttype": "application/json",
            "tenant": envelope.tenant,
        },
        data=envelope.data,
    )
    message = ce_kafka.to_binary(event, JSONFormat(), key_mapper=lambda _: envelope.subject)
    headers = list(message.headers.items()) + [(n, v.encode()) for n, v in envelope.trace_headers.items()]
    return envelope.subject.encode(), message.value, headers


@pytest.mark.parametrize(
    ("data", "time", "trace"),
    [
        ({"note": "Zoë \u2013 東京 🎉", "quote": 'say "hi"\\\n\t\x01', "empty": {}, "list": []}, dt.UTC, {}),
        (
            {"cents": 10**15, "flag": True, "none": None, "nested": [{"a": [1, 2]}]},
            dt.timezone(dt.timedelta(hours=-5)),
            {},
        ),
        ({}, dt.UTC, {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "k=v"}),
    ],
)
def test_any_envelope_encodes_as_the_sdk_did_and_reads_back(
    data: dict[str, Any], time: dt.tzinfo, trace: dict[str, str]
) -> None:
    envelope = EventEnvelope(
        id="e-1",
        type="claim-denied.v1",
        source="/t",
        subject="claim-9",
        tenant="t-9",
        time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=time),
        data=data,
        trace_headers=trace,
    )
    assert to_kafka(envelope) == _sdk_message(envelope)
    assert from_kafka(*to_kafka(envelope)) == envelope


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("ce_time", b"yesterday", "header ce_time: Invalid RFC3339 encoded datetime"),
        ("ce_time", b"2026-11-29T12:30:45", "header ce_time: Expected `datetime` with a timezone"),
        ("ce_specversion", b"0.3", "header ce_specversion: Invalid enum value '0.3'"),
        ("ce_id", b"", "header ce_id: Expected `str` of length >= 1"),
        ("ce_type", b"\xff", "header ce_type is not UTF-8"),
    ],
)
def test_a_wrong_attribute_names_its_header(header: str, value: bytes, expected: str) -> None:
    headers = [(name, value if name == header else raw) for name, raw in TODAY_HEADERS]
    with pytest.raises(MalformedEvent) as caught:
        from_kafka(TODAY_KEY, TODAY_VALUE, headers)
    assert str(caught.value).startswith(expected)


def test_a_missing_time_names_its_header() -> None:
    headers = [(name, raw) for name, raw in TODAY_HEADERS if name != "ce_time"]
    with pytest.raises(MalformedEvent, match=r"^header ce_time missing$"):
        from_kafka(TODAY_KEY, TODAY_VALUE, headers)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'{"claim_id": nul}', "event data: JSON is malformed"),
        (b'["not", "an", "object"]', "event data is not a JSON object: Expected `object`, got `array`"),
        (b"", "message value is empty"),
    ],
)
def test_a_value_that_is_not_a_json_object_is_malformed(value: bytes, expected: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        from_kafka(TODAY_KEY, value, TODAY_HEADERS)
    assert str(caught.value).startswith(expected)


def _number_fields(node: object, path: str) -> list[str]:
    if isinstance(node, dict):
        kinds = node.get("type")
        here = [path] if kinds == "number" or (isinstance(kinds, list) and "number" in kinds) else []
        return here + [found for key, child in node.items() for found in _number_fields(child, f"{path}/{key}")]
    if isinstance(node, list):
        return [found for i, child in enumerate(node) for found in _number_fields(child, f"{path}/{i}")]
    return []


def test_no_event_payload_carries_a_float() -> None:
    """The relay sends the jsonb text of a payload as it is, which equals `json.dumps` of it only while
    payloads hold no floats (Postgres and Python write some floats differently): money is cents, decimals
    are strings."""
    assert [
        found
        for event_type, (_, model) in EVENT_TYPES.items()
        for found in _number_fields(model.model_json_schema(mode="serialization"), event_type)
    ] == []


def test_handlers_of_one_event_share_one_validation() -> None:
    envelope = from_kafka(TODAY_KEY, TODAY_VALUE, TODAY_HEADERS)
    assert envelope.payload_as(ClaimDeniedV1) is envelope.payload()


def test_the_fast_and_the_careful_header_paths_decode_the_same_envelope() -> None:
    """claimflow's own headers take the fast path (one dict, read straight into the envelope); any other spelling
    the careful one: both give the same envelope, with the headers' dict passed in or not; the value is kept as it
    came, not copied."""
    shouted = [(name.upper() if name.startswith("ce_") else name, raw) for name, raw in TODAY_HEADERS]
    expected = _today_envelope()
    assert from_kafka(TODAY_KEY, TODAY_VALUE, shouted) == expected
    assert from_kafka(TODAY_KEY, TODAY_VALUE, TODAY_HEADERS, dict(TODAY_HEADERS)) == expected
    assert from_kafka(TODAY_KEY, TODAY_VALUE, TODAY_HEADERS).value is TODAY_VALUE
