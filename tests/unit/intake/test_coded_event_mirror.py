"""Intake builds `encounter-coded` as its msgspec mirror (`shared.events.wire`), not the catalog's pydantic model:
the bytes it writes must be a valid `catalog.EncounterCodedV1`, the model's own bytes, and carry every field of the
request the way the model-built event did (the request's parts dumped as they are)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.intake.domain.documents import registry_from_document
from services.intake.domain.parties import Registry, coded_event, coverage_changed, patient_changed, resolve
from services.intake.schemas import EncounterDocument, EncounterIn, FacilityOut
from shared.events import wire
from shared.events.catalog import EncounterCodedV1, PartyChangedV1
from shared.events.envelope import payload_json
from tests.support.intake_builders import ADDRESS, PATIENT, coverage, encounter, full_registry, payer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "encounters"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))
_DECODER = msgspec.json.Decoder(wire.EncounterCodedV1)


def _built(visit: EncounterIn, registry: Registry) -> wire.EncounterCodedV1:
    resolved, problems = resolve(visit, registry)
    assert problems == [] and resolved is not None, problems
    return coded_event(uuid.uuid4(), visit, resolved, registry, "FY2026")


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _assert_valid_and_faithful(visit: EncounterIn, event: wire.EncounterCodedV1) -> None:
    body = payload_json(event)
    model = EncounterCodedV1.model_validate_json(body)  # the catalog's judgement, pydantic's errors
    assert payload_json(model) == body, "the mirror's bytes are the model's"
    assert _DECODER.decode(body) == event, "every value has the mirror's own type (no Decimal, no model)"
    sent = visit.model_dump(mode="json")
    built = _json(event)
    for name in ("external_encounter_id", "claim_type", "payer_id", "billing_provider_npi", "rendering_provider_npi",
                 "referring_provider_npi", "place_of_service", "service_date_from", "service_date_to", "currency",
                 "original_claim_number", "prior_authorization", "supervising_provider_npi", "pay_to_address",
                 "attachments", "delay_reason_code", "accident", "onset_date", "claim_options"):  # fmt: skip
        assert built[name] == sent[name], name
    assert built["diagnosis_codes"] == [code.upper() for code in sent["diagnosis_codes"]]
    sent_frequency = sent["frequency_code"]
    assert built["frequency_code"] + (built["interim_frequency_code"] or "") in {sent_frequency, "1" + sent_frequency}
    for line, sent_line in zip(built["lines"], sent["lines"], strict=True):
        assert {k: line[k] for k in sent_line} == sent_line  # the drug's quantity: the Decimal's text both ways
    if visit.institutional is not None:
        details, sent_details = built["institutional"], sent["institutional"]
        for name in ("facility_type_code", "patient_status_code", "attending_provider_npi", "admission",
                     "admitting_diagnosis", "present_on_admission", "discharge_hour", "drg", "principal_procedure",
                     "other_procedures", "occurrences", "occurrence_spans", "values", "condition_codes",
                     "operating_provider_npi", "other_operating_provider_npi"):  # fmt: skip
            assert details[name] == sent_details[name], name
    if visit.ambulance is not None:
        trip = {k: v for k, v in sent["ambulance"].items() if k not in ("pick_up", "patient_weight_lbs")}
        assert built["ambulance"] == trip
        assert built["phi"]["ambulance_pick_up"] == sent["ambulance"]["pick_up"]
        assert built["phi"]["patient_weight_lbs"] == sent["ambulance"]["patient_weight_lbs"]
    priors = {c["payer"]["payer_id"]: c["coverage_id"] for c in [built["coverage"], *built["other_coverages"]] if c}
    expected = [{**{k: v for k, v in prior.items() if k != "payer_id"}, "coverage_id": priors[prior["payer_id"]]}
                for prior in sent["prior_payer_adjudications"] if prior["payer_id"] in priors]  # fmt: skip
    assert [{k: p[k] for k in e} for p, e in zip(built["prior_payer_adjudications"], expected, strict=True)] == expected


@pytest.mark.parametrize("name", NAMES)
def test_every_example_is_a_valid_event_of_the_model(name: str) -> None:
    document = EncounterDocument.model_validate_json((EXAMPLES / f"{name}.json").read_text())
    event = _built(document.encounter, registry_from_document(document))
    assert event.unresolved == [] and event.phi is not None and event.coverage is not None
    _assert_valid_and_faithful(document.encounter, event)


def test_pay_to_address_facility_and_unresolved_parties_travel_as_the_model_would() -> None:
    facility = FacilityOut.model_validate(
        {"id": str(uuid.uuid4()), "external_facility_id": "FAC-1", "name": "SYNTHETIC CLINIC", "address": ADDRESS}
    )
    registry = full_registry(coverage("SANDBOX", "primary"), coverage("SECOND", "secondary"))
    registry.facilities_by_external_id["FAC-1"] = facility
    visit = encounter(pay_to_address={**ADDRESS, "line2": "SUITE 2"}, facility_external_id="FAC-1",
                      referring_provider_npi="1555555550")  # fmt: skip
    event = _built(visit, registry)
    assert event.service_facility is not None and event.service_facility.facility_id == facility.id
    assert event.unresolved == ["referring_provider_npi"] and event.referring_provider is None
    assert [c.payer.payer_id for c in event.other_coverages] == ["SECOND"]
    _assert_valid_and_faithful(visit, event)
    unregistered = encounter(patient_id=str(uuid.uuid4()))
    bare = _built(unregistered, Registry())
    assert bare.phi is None and bare.coverage is None
    _assert_valid_and_faithful(unregistered, bare)


def test_party_changed_events_are_valid_events_of_the_model() -> None:
    billed = coverage("SANDBOX", "primary")
    for event in (
        patient_changed(PATIENT, ["address.line1"]),
        coverage_changed(billed, payer("SANDBOX"), PATIENT, ["member_id"], "claim-fix"),
    ):
        body = payload_json(event)
        assert payload_json(PartyChangedV1.model_validate_json(body)) == body


def test_a_date_is_a_date_not_its_text() -> None:
    event = _built(encounter(), full_registry())
    assert isinstance(event.service_date_from, dt.date) and isinstance(event.lines[0].service_date, dt.date)
