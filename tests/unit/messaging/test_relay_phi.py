"""Which published outbox rows the relay empties: every event type whose payload marks a field `x-phi`."""

from __future__ import annotations

from shared.messaging.relay import PHI_EVENT_TYPES


def test_every_event_type_with_phi_fields_is_emptied_once_published() -> None:
    assert set(PHI_EVENT_TYPES) == {
        "encounter-coded.v1",  # the phi block and providers' tax ids
        "party-changed.v1",  # a party's phi block, a provider's tax id outside one
        "coverage-correction-requested.v1",  # a corrected member id
        "claim-submitted.v1",  # the member digest
    }
