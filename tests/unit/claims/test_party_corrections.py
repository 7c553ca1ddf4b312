"""A held claim mended by a corrected party (`domain/party_changes.py`), and the duplicate edit that no
longer counts held or cancelled claims (`NOT_BILLED_STATES`)."""

from __future__ import annotations

import uuid

from services.claims.domain.claim_state import NOT_BILLED_STATES, ClaimState
from services.claims.domain.party_changes import mended
from shared.events.catalog import Address, PartyChangedV1, PartyPhi, Person
from tests.support.encounters import example


def test_a_corrected_billing_provider_goes_into_the_claim_that_names_it() -> None:
    encounter = example("professional")
    provider = encounter.billing_provider
    assert provider is not None and provider.address is not None
    moved = provider.address.model_copy(update={"line1": "2 SYNTHETIC WAY"})
    change = PartyChangedV1(
        party_kind="provider",
        party_id=uuid.uuid4(),
        changed_fields=["address.line1"],
        provider=provider.model_copy(update={"address": moved}),
    )
    after = mended(encounter, change)
    assert after is not None and after.billing_provider is not None and after.billing_provider.address == moved
    assert mended(after, change) is None, "a claim that already says it is not mended again"
    other = change.model_copy(update={"provider": provider.model_copy(update={"npi": "1555555550"})})
    assert mended(encounter, other) is None, "a claim that names another NPI is left alone"


def test_a_corrected_member_id_goes_into_the_billed_coverages_subscriber_only_for_that_patient() -> None:
    encounter = example("professional")
    assert encounter.coverage is not None and encounter.phi is not None
    (subscriber,) = encounter.phi.subscribers
    change = PartyChangedV1(
        party_kind="coverage",
        party_id=encounter.coverage.coverage_id,
        patient_id=encounter.patient_id,
        changed_fields=["member_id"],
        coverage=encounter.coverage,
        phi=PartyPhi(subscriber=subscriber.model_copy(update={"member_id": "SYN0002"})),
    )
    after = mended(encounter, change)
    assert after is not None and after.phi is not None and after.phi.subscribers[0].member_id == "SYN0002"
    elsewhere = change.model_copy(update={"patient_id": uuid.uuid4()})
    assert mended(encounter, elsewhere) is None


def test_a_corrected_patient_is_also_the_subscriber_of_the_coverages_held_in_their_own_name() -> None:
    encounter = example("professional")
    assert encounter.coverage is not None and encounter.coverage.relationship == "18"
    person = Person(last_name="DOE", first_name="JANE", address=Address(line1="9 NEW ST", city="SPRINGFIELD",
                                                                          state="IL", postal_code="62701"))  # fmt: skip
    change = PartyChangedV1(
        party_kind="patient",
        party_id=encounter.patient_id,
        patient_id=encounter.patient_id,
        changed_fields=["address.line1"],
        phi=PartyPhi(patient=person),
    )
    after = mended(encounter, change)
    assert after is not None and after.phi is not None
    assert after.phi.patient == person and after.phi.subscribers[0].subscriber == person


def test_held_and_cancelled_claims_bill_nothing_but_ready_and_sent_ones_do() -> None:
    assert {ClaimState.ON_HOLD, ClaimState.CANCELLED} <= NOT_BILLED_STATES
    assert not {ClaimState.READY, ClaimState.BATCHED, ClaimState.SUBMITTED, ClaimState.PAID} & NOT_BILLED_STATES
