from __future__ import annotations

import uuid

import pytest

from shared.events.catalog import ClaimDeniedV1, EncounterCodedV1
from shared.events.envelope import EventEnvelope, MalformedEvent, from_kafka, to_kafka


def _denial() -> ClaimDeniedV1:
    return ClaimDeniedV1(
        claim_control_number="CLM-0001",
        payer_id="SANDBOX",
        trace_number="TRN1",
        denial="full",
        denied_cents=12500,
        carcs=["50"],
        rarcs=["N115"],
    )


def test_binary_mode_round_trip_keeps_attributes_payload_and_trace() -> None:
    envelope = EventEnvelope.new(source="/claimflow/remittance", subject="claim-1", tenant="t-1", payload=_denial())
    traced = envelope.replace(trace_headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    key, value, headers = to_kafka(traced)
    names = dict(headers)
    assert key == b"claim-1"
    assert names["ce_type"] == b"claim-denied.v1"
    assert names["ce_tenant"] == b"t-1"
    assert names["ce_specversion"] == b"1.0"
    assert names["content-type"] == b"application/json"
    assert names["traceparent"].startswith(b"00-1111")
    back = from_kafka(key, value, headers)
    assert back.id == envelope.id
    assert back.payload_as(ClaimDeniedV1) == _denial()
    assert back.trace_headers["traceparent"] == traced.trace_headers["traceparent"]


def test_missing_ce_headers_are_malformed() -> None:
    with pytest.raises(MalformedEvent, match="header ce_id missing"):
        from_kafka(b"k", b"{}", [("ce_type", b"claim-denied.v1")])


def test_payload_that_breaks_its_model_is_malformed() -> None:
    envelope = EventEnvelope.new(source="/t", subject="s", tenant="t", payload=_denial())
    key, value, headers = to_kafka(envelope)
    broken = value.replace(b'"denied_cents": 12500', b'"denied_cents": "lots"')
    with pytest.raises(MalformedEvent, match="denied_cents"):
        from_kafka(key, broken, headers).payload()


def test_payload_of_another_type_is_refused() -> None:
    envelope = EventEnvelope.new(source="/t", subject="s", tenant="t", payload=_denial())
    with pytest.raises(MalformedEvent, match="is not a EncounterCodedV1"):
        envelope.payload_as(EncounterCodedV1)


def test_unknown_event_type_is_malformed() -> None:
    envelope = EventEnvelope.new(source="/t", subject=str(uuid.uuid4()), tenant="t", payload=_denial())
    key, value, headers = to_kafka(envelope)
    headers = [(n, b"claim-denied.v9" if n == "ce_type" else v) for n, v in headers]
    with pytest.raises(MalformedEvent, match="unknown event type"):
        from_kafka(key, value, headers).payload()
