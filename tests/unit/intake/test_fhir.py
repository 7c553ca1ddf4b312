"""FHIR R4 Claim / Bundle onto intake's shapes, with errors naming the FHIR path."""

from __future__ import annotations

import pytest

from services.intake.domain.fhir import FhirRejected, expression, parse
from services.intake.schemas import CoverageIn, EncounterIn, PatientIn
from tests.support.fhir_samples import claim_bundle


def test_a_bundle_maps_onto_patient_coverage_and_encounter() -> None:
    mapped = parse(claim_bundle())
    patient = PatientIn.model_validate(mapped.patient)
    assert (patient.external_patient_id, patient.last_name, patient.sex) == ("MRN-FHIR-0001", "DOE", "M")
    ((coverage_body, _),) = mapped.coverages
    coverage = CoverageIn.model_validate(coverage_body)
    assert (coverage.priority, coverage.relationship, coverage.member_id) == ("primary", "19", "SYN000000301")
    assert coverage.subscriber is not None and coverage.subscriber.first_name == "JOHN"
    assert coverage.group_number == "GRP-FHIR-1"
    encounter = EncounterIn.model_validate(mapped.encounter)
    assert encounter.patient_external_id == "MRN-FHIR-0001"
    assert encounter.diagnosis_codes == ["J06.9", "R05.9"], "ordered by diagnosis.sequence"
    assert [line.charge_cents for line in encounter.lines] == [12500, 3000]
    assert encounter.lines[0].diagnosis_pointers == [1, 2]
    assert encounter.lines[1].modifiers == ["QW"]
    assert (encounter.rendering_provider_npi, encounter.prior_authorization) == ("1987654328", "AUTH-FHIR-1")
    assert encounter.place_of_service == "11"


def test_structural_errors_name_the_fhir_element() -> None:
    bundle = claim_bundle()
    bundle["entry"][0]["resource"]["birthDate"] = "2016-13-01"
    with pytest.raises(FhirRejected) as rejected:
        parse(bundle)
    assert [p.loc[:5] for p in rejected.value.problems] == [("entry", 0, "resource", "birthDate")]


def test_mapped_fields_remember_their_fhir_path() -> None:
    mapped = parse(claim_bundle())
    path = mapped.encounter_origins.fhir_path(("lines", 1, "charge_cents"))
    assert expression(path) == "entry[3].resource.item[1].net.value"
    assert expression(mapped.encounter_origins.fhir_path(("diagnosis_codes", 0))).startswith(
        "entry[3].resource.diagnosis[1]"
    )


def test_fractional_cents_are_refused_at_the_fhir_element() -> None:
    bundle = claim_bundle()
    bundle["entry"][3]["resource"]["item"][0]["net"]["value"] = 125.005
    with pytest.raises(FhirRejected) as rejected:
        parse(bundle)
    (problem,) = rejected.value.problems
    assert expression(problem.loc) == "entry[3].resource.item[0].net.value"
    assert "fractions of a cent" in problem.msg


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b["entry"].pop(0), "entry"),
        (lambda b: b["entry"][3]["resource"].update(type={"coding": [{"code": "oral"}]}), "type"),
    ],
)
def test_bundle_shape_problems(change, where: str) -> None:  # type: ignore[no-untyped-def]
    bundle = claim_bundle()
    change(bundle)
    with pytest.raises(FhirRejected) as rejected:
        parse(bundle)
    assert where in rejected.value.problems[0].loc


def test_only_claims_and_bundles() -> None:
    with pytest.raises(FhirRejected) as rejected:
        parse({"resourceType": "Patient"})
    assert rejected.value.problems[0].loc == ("resourceType",)
