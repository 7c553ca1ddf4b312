"""Intake takes what the 837 can carry and nothing it cannot: names transliterable within NM1's limits,
POA as 5010 has it, a billing provider's ZIP+4, an 837P's limits, and the new claim fields."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.domain.encounter import check_encounter, diagnosis_release
from services.intake.domain.parties import coded_event, resolve
from services.intake.schemas import EncounterIn, PatientIn
from tests.support.intake_builders import (
    ADDRESS,
    BILLING_NPI,
    DAY,
    encounter_body,
    full_registry,
    institutional_body,
    provider,
)

RELEASE = diagnosis_release(DAY)


def patient(**names: Any) -> dict[str, Any]:
    return {"external_patient_id": "MRN-1", "last_name": "DOE", "first_name": "JANE", "birth_date": "1980-01-01",
            "sex": "F", "address": ADDRESS, **names}  # fmt: skip


def refused_fields(model: type[PatientIn] | type[EncounterIn], body: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    return {tuple(e["loc"]): e["msg"] for e in raised.value.errors()}


def test_accented_names_are_accepted_and_kept_as_spelled() -> None:
    kept = PatientIn.model_validate(patient(first_name="José", last_name="Núñez O\u2019Brien", middle_name="Siobhán"))
    assert (kept.first_name, kept.last_name, kept.middle_name) == ("José", "Núñez O\u2019Brien", "Siobhán")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("DO*E", "'*' cannot be sent"),
        ("DOE~", "'~' cannot be sent"),
        ("DO:E", "':' cannot be sent"),
        ("DO^E", "'^' cannot be sent"),
        ("DOE\u202e", "RIGHT-TO-LEFT OVERRIDE"),
        ("DOE\U0001f600", "GRINNING FACE"),
        ("李", "CJK UNIFIED IDEOGRAPH"),
    ],
)
def test_what_cannot_be_transliterated_is_refused_by_field(name: str, why: str) -> None:
    errors = refused_fields(PatientIn, patient(last_name=name))
    assert list(errors) == [("last_name",)]
    assert why in errors[("last_name",)]


def test_names_are_held_to_the_writers_lengths() -> None:
    errors = refused_fields(PatientIn, patient(first_name="A" * 36, middle_name="B" * 26))
    assert set(errors) == {("first_name",), ("middle_name",)}
    assert PatientIn.model_validate(patient(first_name="A" * 35, last_name="D" * 60))


def test_poa_one_is_refused_and_blank_is_exempt() -> None:
    body = institutional_body(diagnosis_codes=["J06.9", "Z79.4"])
    body["institutional"]["present_on_admission"] = ["Y", "1"]
    errors = refused_fields(EncounterIn, body)
    assert list(errors) == [("institutional", "present_on_admission", 1)]
    assert 'send ""' in errors[("institutional", "present_on_admission", 1)]
    body["institutional"]["present_on_admission"] = ["Y", ""]
    assert EncounterIn.model_validate(body).institutional is not None


def problems(body: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    return {p.loc: p.msg for p in check_encounter(EncounterIn.model_validate(body), today=DAY, release=RELEASE)}


def test_an_837p_keeps_its_limits_while_an_837i_takes_25_diagnoses_and_interim_bills() -> None:
    codes = ["J06.9", "R05.9", "I10", "E11.9", "E78.5", "K21.9", "F41.1", "N39.0", "M54.50", "R07.9", "R50.9",
             "J45.909", "G47.33"]  # fmt: skip
    assert ("diagnosis_codes",) in problems(encounter_body(diagnosis_codes=codes))
    assert ("frequency_code",) in problems(encounter_body(frequency_code="2"))
    assert problems(institutional_body(diagnosis_codes=codes, frequency_code="3")) == {}


def test_practice_only_fields_on_an_institutional_claim_are_named() -> None:
    body = institutional_body(onset_date=DAY.isoformat())
    body["lines"][0]["unit_basis"] = "MJ"
    assert set(problems(body)) == {("onset_date",), ("lines", 0, "unit_basis")}


def test_an_accident_names_its_state_and_date() -> None:
    found = problems(encounter_body(accident={"causes": ["AA"]}))
    assert set(found) == {("accident", "state"), ("accident", "occurred_on")}
    assert problems(encounter_body(accident={"causes": ["EM"]})) == {}


def test_an_attachment_sent_to_the_payer_needs_its_control_number() -> None:
    errors = refused_fields(EncounterIn, encounter_body(attachments=[{"report_type": "OZ", "transmission": "FX"}]))
    assert list(errors) == [("attachments", 0, "control_number")]
    assert EncounterIn.model_validate(encounter_body(attachments=[{"report_type": "OZ", "transmission": "AA"}]))


def test_a_billing_provider_without_zip_plus_4_cannot_bill() -> None:
    registry = full_registry()
    billing = registry.providers[BILLING_NPI]
    assert billing.address is not None
    short = billing.model_copy(update={"address": billing.address.model_copy(update={"postal_code": "62701"})})
    registry = dataclasses.replace(registry, providers={**registry.providers, BILLING_NPI: short})
    resolved, found = resolve(EncounterIn.model_validate(encounter_body()), registry)
    assert resolved is None and [p.loc for p in found] == [("billing_provider_npi",)]
    assert "9-digit" in found[0].msg


def test_new_fields_travel_in_the_event_and_line_providers_resolve() -> None:
    ordering = "1112225556"
    registry = full_registry()
    registry = dataclasses.replace(registry, providers={**registry.providers, ordering: provider(ordering)})
    options = {"assignment": "C", "benefits_assigned": False, "release_of_information": "I"}
    body = encounter_body(delay_reason_code="7", onset_date=DAY.isoformat(), claim_options=options)
    body["lines"][0]["ordering_provider_npi"] = ordering
    body["lines"][0]["unit_basis"] = "MJ"
    coded = EncounterIn.model_validate(body)
    resolved, found = resolve(coded, registry)
    assert found == [] and resolved is not None and resolved.unresolved == []
    event = coded_event(uuid.uuid4(), coded, resolved, registry, RELEASE.name)
    assert (event.delay_reason_code, event.onset_date, event.claim_options.assignment) == ("7", DAY, "C")
    assert [p.npi for p in event.line_providers] == [ordering]
    assert event.lines[0].unit_basis == "MJ"
    body["lines"][0]["ordering_provider_npi"] = "1245319599"
    unknown, _ = resolve(EncounterIn.model_validate(body), registry)
    assert unknown is not None and unknown.unresolved == ["lines.0.ordering_provider_npi"]
