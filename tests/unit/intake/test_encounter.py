"""Every encounter rule, without I/O: each problem names its field the way pydantic does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.domain.encounter import CodeVerdicts, check_encounter, diagnosis_release, total_charge_cents
from services.intake.schemas import EncounterIn
from tests.support.intake_builders import DAY, TODAY, encounter, encounter_body, institutional_body

RELEASE = diagnosis_release(DAY)


def problems(value: EncounterIn, cpt: frozenset[str] | None = None, today: dt.date = TODAY) -> dict[tuple, str]:
    return {p.loc: p.msg for p in check_encounter(value, today=today, release=RELEASE, cpt_codes=cpt)}


def field_errors(body: dict[str, Any]) -> dict[tuple, str]:
    with pytest.raises(ValidationError) as raised:
        EncounterIn.model_validate(body)
    return {tuple(e["loc"]): e["msg"] for e in raised.value.errors()}


def with_line(**changes: Any) -> dict[str, Any]:
    body = encounter_body()
    body["lines"][0].update(changes)
    return body


def test_a_clean_encounter_has_no_problems() -> None:
    assert problems(encounter()) == {}
    assert problems(EncounterIn.model_validate(institutional_body())) == {}


def test_total_charge_counts_priced_lines_only() -> None:
    body = encounter_body()
    body["lines"][1]["charge_cents"] = None
    assert total_charge_cents(EncounterIn.model_validate(body).lines) == 12500


# field rules (pydantic, in the request model)


def test_npi_check_digit() -> None:
    assert "check digit" in field_errors(encounter_body(billing_provider_npi="1234567890"))[("billing_provider_npi",)]


@pytest.mark.parametrize("code", ["9921", "ABCDE", "99213X"])
def test_procedure_code_shape(code: str) -> None:
    assert "neither CPT" in field_errors(with_line(procedure_code=code))[("lines", 0, "procedure_code")]


def test_modifiers_shape_and_count() -> None:
    assert ("lines", 0, "modifiers", 0) in field_errors(with_line(modifiers=["2"]))
    assert ("lines", 0, "modifiers") in field_errors(with_line(modifiers=["25", "59", "76", "77", "91"]))


@pytest.mark.parametrize(("units", "charge"), [(0, 100), (1.5, 100), (1, 125.5), (1, -1), (1, "100")])
def test_units_and_integer_cents(units: object, charge: object) -> None:
    errors = field_errors(with_line(units=units, charge_cents=charge))
    assert {("lines", 0, "units"), ("lines", 0, "charge_cents")} & set(errors)


def test_place_of_service_from_the_cms_list() -> None:
    assert "place-of-service" in field_errors(encounter_body(place_of_service="30"))[("place_of_service",)]


def test_pointer_range_is_1_to_12_and_at_most_4() -> None:
    assert ("lines", 0, "diagnosis_pointers", 0) in field_errors(with_line(diagnosis_pointers=[13]))
    assert ("lines", 0, "diagnosis_pointers") in field_errors(with_line(diagnosis_pointers=[1, 2, 3, 4, 5]))


def test_patient_named_exactly_once() -> None:
    assert ("patient_external_id",) in field_errors(encounter_body(patient_external_id="MRN-1"))
    assert ("patient_external_id",) in field_errors(encounter_body(patient_id=None))


# rules with context (domain)


def test_pointer_must_name_an_existing_diagnosis() -> None:
    found = problems(EncounterIn.model_validate(with_line(diagnosis_pointers=[1, 3])))
    assert "pointer 3 names no diagnosis" in found[("lines", 0, "diagnosis_pointers")]


def test_professional_lines_need_pointers_and_a_procedure_code() -> None:
    found = problems(EncounterIn.model_validate(with_line(diagnosis_pointers=[], procedure_code=None)))
    assert ("lines", 0, "diagnosis_pointers") in found
    assert ("lines", 0, "procedure_code") in found


def test_institutional_lines_need_revenue_codes_and_details() -> None:
    body = institutional_body()
    body["lines"][0]["revenue_code"] = None
    assert ("lines", 0, "revenue_code") in problems(EncounterIn.model_validate(body))
    assert ("institutional",) in problems(EncounterIn.model_validate({**institutional_body(), "institutional": None}))


def test_icd10_codes_must_be_billable_for_the_release() -> None:
    found = problems(encounter(diagnosis_codes=["J06", "J06.99", "J06.9", "J069"]))
    assert "not billable" in found[("diagnosis_codes", 0)]
    assert "not an ICD-10-CM code" in found[("diagnosis_codes", 1)]
    assert "more than once" in found[("diagnosis_codes", 3)]


def test_customer_cpt_list_applies_once_loaded() -> None:
    assert problems(encounter(), cpt=None) == {}
    found = problems(encounter(), cpt=frozenset({"99213"}))
    assert list(found) == [("lines", 1, "procedure_code")]
    assert "87880 is not in the CPT codes loaded" in found[("lines", 1, "procedure_code")]


def test_dates() -> None:
    later = (DAY + dt.timedelta(days=1)).isoformat()
    assert ("service_date_to",) in problems(encounter(service_date_from=later))
    found = problems(encounter(), today=DAY - dt.timedelta(days=1))
    assert "in the future" in found[("service_date_from",)]
    outside = problems(EncounterIn.model_validate(with_line(service_date=later)))
    assert "outside the encounter" in outside[("lines", 0, "service_date")]


def test_corrections_and_voids_name_the_original_claim() -> None:
    assert ("original_claim_number",) in problems(encounter(frequency_code="7"))
    assert problems(encounter(frequency_code="8", original_claim_number="PAYER-CLAIM-1")) == {}
    assert ("original_claim_number",) in problems(encounter(original_claim_number="PAYER-CLAIM-1"))


def test_repeated_line_numbers_and_modifiers() -> None:
    body = encounter_body()
    body["lines"][1]["line_number"] = 1
    body["lines"][1]["modifiers"] = ["QW", "QW"]
    found = problems(EncounterIn.model_validate(body))
    assert ("lines", 1, "line_number") in found and ("lines", 1, "modifiers") in found


def test_prior_payer_adjudication_must_balance() -> None:
    prior = {
        "payer_id": "PRIMARY1",
        "paid_cents": 10000,
        "adjudication_date": DAY.isoformat(),
        "lines": [
            {"line_number": 1, "paid_cents": 10000, "paid_units": 1,
             "adjustments": [{"group": "CO", "reason_code": "45", "amount_cents": 2500}]},
            {"line_number": 2, "paid_cents": 0, "paid_units": 1,
             "adjustments": [{"group": "PR", "reason_code": "1", "amount_cents": 3000}]},
        ],
    }  # fmt: skip
    assert problems(encounter(prior_payer_adjudications=[prior])) == {}
    prior["paid_cents"] = 9999
    assert ("prior_payer_adjudications", 0, "paid_cents") in problems(encounter(prior_payer_adjudications=[prior]))


def test_control_characters_are_refused_by_field() -> None:
    from services.intake.schemas import PatientIn

    address = {"line1": "1 A\nST", "city": "XY", "state": "IL", "postal_code": "62701"}
    body = {"external_patient_id": "MRN-1", "last_name": "DO\x00E", "first_name": "JANE", "birth_date": "1980-01-01",
            "sex": "F", "address": address}  # fmt: skip
    with pytest.raises(ValidationError) as raised:
        PatientIn.model_validate(body)
    assert {tuple(e["loc"]) for e in raised.value.errors()} == {("last_name",), ("address", "line1")}


def test_a_batch_shares_its_code_verdicts_and_each_encounter_gets_what_it_would_alone() -> None:
    """Verdicts are kept per code and day (or release): a code judged for one encounter is not mis-judged for
    another on another day or with another code."""
    later = (DAY + dt.timedelta(days=1)).isoformat()
    bad_modifier = with_line(modifiers=["ZZ"])
    visits = [
        encounter(diagnosis_codes=["J06", "J06.9"]),
        encounter(),
        EncounterIn.model_validate(bad_modifier),
        encounter(service_date_from=DAY.isoformat(), service_date_to=later, diagnosis_codes=["J06.99"]),
        encounter(diagnosis_codes=["J06", "J06.9"]),
    ]
    verdicts = CodeVerdicts()
    shared = [check_encounter(v, today=TODAY, release=RELEASE, verdicts=verdicts) for v in visits]
    alone = [check_encounter(v, today=TODAY, release=RELEASE) for v in visits]
    assert shared == alone
    assert shared[1] == [] and shared[0] == shared[4] != [] and shared[3] != []
    assert verdicts.diagnoses and verdicts.procedures and verdicts.modifiers
