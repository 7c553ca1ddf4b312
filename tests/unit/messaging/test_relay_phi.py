"""Which published outbox rows the relay empties: every event type whose payload marks a field `x-phi`, and any
payload with a `phi` block; what such a row keeps."""

from __future__ import annotations

import json

from shared.messaging.outbox import PHI_EVENT_TYPES, decode_stored, emptied_once_published
from shared.messaging.relay import published_stored


def test_every_event_type_with_phi_fields_is_emptied_once_published() -> None:
    assert set(PHI_EVENT_TYPES) == {
        "encounter-coded.v1",  # the phi block and providers' tax ids
        "party-changed.v1",  # a party's phi block, a provider's tax id outside one
        "coverage-correction-requested.v1",  # a corrected member id
        "claim-submitted.v1",  # the member digest
    }


def published_envelope(event_type: str, stored: str) -> str | None:
    """What the relay writes back into a published row's envelope (a row written with its data inside it)."""
    return published_stored(event_type, decode_stored(stored))


def _stored(event_type: str, data: str) -> str:
    return (
        f'{{"id":"e-1","type":"{event_type}","source":"/claimflow/test","subject":"s-1","tenant":"t-1",'
        f'"time":"2026-01-02T03:04:05+00:00","data":{data},"trace_headers":{{"traceparent":"00-abc"}}}}'
    )


def test_a_published_phi_event_keeps_its_attributes_and_trace_context_and_an_empty_payload() -> None:
    stored = _stored("encounter-coded.v1", '{"phi":{"name":"SYNTHETIC"},"encounter_id":"x"}')
    kept = published_envelope("encounter-coded.v1", stored)
    assert kept is not None
    assert json.loads(kept) == {**json.loads(stored), "data": {}}


def test_a_payload_with_a_phi_block_is_emptied_whatever_its_type() -> None:
    stored = _stored("something-new.v1", '{"phi":{"member_id":"M-1"},"n":1}')
    kept = published_envelope("something-new.v1", stored)
    assert kept is not None and json.loads(kept)["data"] == {}


def test_an_event_without_phi_is_kept_as_stored_even_when_phi_is_one_of_its_values() -> None:
    assert published_envelope("claim-status.v1", _stored("claim-status.v1", '{"note":"phi","nested":{"x":1}}')) is None
    assert published_envelope("claim-status.v1", _stored("claim-status.v1", '{"nested":{"phi":1}}')) is None


def test_the_outbox_writes_which_payloads_are_emptied_once_published() -> None:
    """The same decision, taken when a row is written (its `phi` column), from the event type and payload alone."""
    assert emptied_once_published("encounter-coded.v1", b'{"encounter_id":"x"}')
    assert emptied_once_published("something-new.v1", b'{"phi":{"member_id":"M-1"},"n":1}')
    assert not emptied_once_published("claim-status.v1", b'{"note":"phi","nested":{"phi":1}}')
    assert not emptied_once_published("claim-status.v1", b'["phi"]')
