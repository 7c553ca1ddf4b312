"""Resolving an encounter's parties and the encounter-coded event built from them."""

from __future__ import annotations

import uuid

from services.intake.domain.parties import Registry, coded_event, resolve
from shared.events.catalog import EncounterCodedV1
from shared.events.envelope import payload_json
from tests.support.intake_builders import ADDRESS, PATIENT, coverage, encounter, full_registry


def test_a_fully_registered_encounter_carries_every_party() -> None:
    primary, secondary = coverage("SANDBOX", "primary"), coverage("SECOND", "secondary")
    registry = full_registry(primary, secondary)
    resolved, problems = resolve(encounter(), registry)
    assert problems == [] and resolved is not None
    event = coded_event(uuid.uuid4(), encounter(), resolved, registry, "FY2026")
    assert event.unresolved == []
    assert event.coverage is not None and event.coverage.responsibility == "P"
    assert event.coverage.payer.name == "SANDBOX HEALTH PLAN"
    assert [c.payer.payer_id for c in event.other_coverages] == ["SECOND"]
    assert event.billing_provider is not None and event.billing_provider.tax_id == "123456789"
    assert event.phi is not None and event.phi.patient.last_name == "DOE"
    assert [s.member_id for s in event.phi.subscribers] == ["MPRI0001", "MSEC0001"]
    assert payload_json(EncounterCodedV1.model_validate_json(payload_json(event))) == payload_json(event)


def test_a_secondary_claim_bills_the_secondary_coverage() -> None:
    registry = full_registry(coverage("SANDBOX", "primary"), coverage("SECOND", "secondary"))
    resolved, _ = resolve(encounter(payer_id="SECOND"), registry)
    assert resolved is not None and resolved.billed is not None and resolved.billed.priority == "secondary"
    assert [c.payer_id for c in resolved.others] == ["SANDBOX"]


def test_a_dependent_names_the_subscriber_not_the_patient() -> None:
    subscriber = {"last_name": "DOE", "first_name": "JOHN", "birth_date": "1975-05-05", "sex": "M", "address": ADDRESS}
    registry = full_registry(coverage("SANDBOX", "primary", relationship="19", subscriber=subscriber))
    resolved, _ = resolve(encounter(), registry)
    assert resolved is not None
    event = coded_event(uuid.uuid4(), encounter(), resolved, registry, "FY2026")
    assert event.coverage is not None and event.coverage.relationship == "19"
    assert event.phi is not None and event.phi.subscribers[0].subscriber.first_name == "JOHN"


def test_unregistered_parties_are_named_not_guessed() -> None:
    resolved, problems = resolve(encounter(), Registry())
    assert problems == [] and resolved is not None
    assert resolved.unresolved == ["patient_id", "billing_provider_npi", "rendering_provider_npi"]
    event = coded_event(uuid.uuid4(), encounter(), resolved, Registry(), "FY2026")
    assert event.phi is None and event.coverage is None


def test_payer_without_coverage_of_the_patient_is_a_problem() -> None:
    _, problems = resolve(encounter(payer_id="OTHER"), full_registry())
    assert [p.loc for p in problems] == [("payer_id",)]


def test_an_external_patient_id_must_be_registered() -> None:
    _, problems = resolve(encounter(patient_id=None, patient_external_id="MRN-404"), full_registry())
    assert [p.loc for p in problems] == [("patient_external_id",)]
    resolved, _ = resolve(encounter(patient_id=None, patient_external_id=PATIENT.external_patient_id), full_registry())
    assert resolved is not None and resolved.patient_id == PATIENT.id


def test_a_billing_provider_without_tax_id_cannot_bill() -> None:
    registry = full_registry()
    registry.providers["1234567893"] = registry.providers["1987654328"]
    _, problems = resolve(encounter(), registry)
    assert [p.loc for p in problems] == [("billing_provider_npi",)]


def test_the_events_of_a_batch_share_their_parties_and_equal_events_built_alone() -> None:
    """A batch builds each provider, coverage and patient part once; every event is what it would be alone."""
    primary, secondary = coverage("SANDBOX", "primary"), coverage("SECOND", "secondary")
    shared_registry = full_registry(primary, secondary)
    visits = [encounter(external_encounter_id=f"ENC-{n}") for n in range(3)]
    events = []
    for visit in visits:
        resolved, _ = resolve(visit, shared_registry)
        assert resolved is not None
        events.append(coded_event(uuid.uuid4(), visit, resolved, shared_registry, "FY2026"))
    first, second = events[0], events[1]
    assert first.billing_provider is second.billing_provider and first.phi is second.phi
    assert first.coverage is second.coverage
    for visit, built in zip(visits, events, strict=True):
        alone_registry = full_registry(primary, secondary)
        resolved, _ = resolve(visit, alone_registry)
        assert resolved is not None
        alone = coded_event(built.encounter_id, visit, resolved, alone_registry, "FY2026")
        assert payload_json(alone) == payload_json(built)


def test_an_ambulance_trip_keeps_its_own_pick_up() -> None:
    """The patient part holds the trip's pick-up address, so it is not shared between trips."""
    registry = full_registry()
    pick_ups = []
    for street in ("1 FIRST ST", "2 SECOND ST"):
        trip = {
            "reason_code": "A", "distance_miles": "3.5", "pick_up": {**ADDRESS, "line1": street},
            "drop_off_name": "SYNTHETIC HOSPITAL", "drop_off": ADDRESS,
        }  # fmt: skip
        visit = encounter(ambulance=trip)
        resolved, _ = resolve(visit, registry)
        assert resolved is not None
        event = coded_event(uuid.uuid4(), visit, resolved, registry, "FY2026")
        assert event.phi is not None and event.phi.ambulance_pick_up is not None
        pick_ups.append(event.phi.ambulance_pick_up.line1)
    assert pick_ups == ["1 FIRST ST", "2 SECOND ST"]
