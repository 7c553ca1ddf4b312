"""Writer-side checks: a claim that cannot become a valid 837 is refused, naming the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.claims.domain.claim import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Claim,
    ClaimFrequency,
    Relationship,
    ServiceLine,
)
from services.claims.domain.claim_checks import ClaimValidationError, Problem, validate_claims
from services.claims.domain.x12_837 import write_interchange
from tests.support.x12_837_builders import (
    CLINIC,
    CONTROL,
    CREATED_AT,
    JANE,
    TIMMY,
    dependent_claim,
    drug_claim,
    institutional_claim,
    institutional_outpatient_claim,
    professional_claim,
    secondary_claim,
)


def _problems(claim: Claim) -> list[Problem]:
    return validate_claims([claim])


def _line(claim: Claim, index: int, **changes: Any) -> tuple[ServiceLine, ...]:
    lines = list(claim.lines)
    lines[index] = replace(lines[index], **changes)
    return tuple(lines)


def test_a_claim_without_diagnosis_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ClaimValidationError) as raised:
        write_interchange([professional_claim(diagnoses=())], CONTROL, CREATED_AT)

    assert raised.value.problems == (
        Problem("claims[0].diagnoses", "at least one diagnosis (the principal) is required"),
        Problem("claims[0].lines[0].diagnosis_pointers[0]", "must point at one of 0 diagnoses, got 1"),
        Problem("claims[0].lines[0].diagnosis_pointers[1]", "must point at one of 0 diagnoses, got 2"),
        Problem("claims[0].lines[1].diagnosis_pointers[0]", "must point at one of 0 diagnoses, got 1"),
    )
    assert "claims[0].diagnoses: at least one diagnosis (the principal) is required" in str(raised.value)


def test_the_shapes_have_no_problems() -> None:
    assert validate_claims([professional_claim(), secondary_claim(), institutional_claim(), drug_claim()]) == []


def _fields(problems: list[Problem]) -> list[str]:
    return [p.field for p in problems]


@pytest.mark.parametrize(
    ("claim", "field", "fragment"),
    [
        (professional_claim(control_number=""), "claims[0].control_number", "1 to 38 characters"),
        (professional_claim(control_number="X" * 39), "claims[0].control_number", "1 to 38 characters"),
        (professional_claim(diagnoses=("E11.9", "XYZ")), "claims[0].diagnoses[1]", "ICD-10-CM"),
        (professional_claim(diagnoses=("E11.9",) * 13), "claims[0].diagnoses", "at most 12"),
        (professional_claim(total_charge_cents=17501), "claims[0].total_charge_cents", "add up to 17500"),
        (professional_claim(total_charge_cents=175.0), "claims[0].total_charge_cents", "integer cents"),
        (professional_claim(lines=()), "claims[0].lines", "at least one"),
        (professional_claim(place_of_service="1"), "claims[0].place_of_service", "2 digits"),
        (professional_claim(prior_authorization="AUTH~1"), "claims[0].prior_authorization", "cannot carry"),
        (professional_claim(frequency=ClaimFrequency.REPLACEMENT), "claims[0].original_claim_number", "REF*F8"),
        (professional_claim(frequency=ClaimFrequency.VOID), "claims[0].original_claim_number", "REF*F8"),
        (professional_claim(original_claim_number="ICN1"), "claims[0].original_claim_number", "frequency 7"),
        (professional_claim(frequency="9"), "claims[0].frequency", "one of 1, 2, 3, 4, 5, 7, 8"),
        (
            professional_claim(billing_provider=replace(CLINIC, npi="1234567890")),
            "claims[0].billing_provider.npi",
            "NPI",
        ),
        (
            professional_claim(billing_provider=replace(CLINIC, address=replace(CLINIC.address, postal_code="62701"))),
            "claims[0].billing_provider.address.postal_code",
            "9 digits",
        ),
        (
            professional_claim(billing_provider=replace(CLINIC, tax_id="12-3456789")),
            "claims[0].billing_provider.tax_id",
            "9 digits",
        ),
        (
            professional_claim(billing_provider=replace(CLINIC, taxonomy="207Q")),
            "claims[0].billing_provider.taxonomy",
            "taxonomy",
        ),
        (
            professional_claim(subscriber=replace(JANE, last_name="DOE*SMITH")),
            "claims[0].subscriber.last_name",
            "* : ^ ~",
        ),
        (
            professional_claim(subscriber=replace(JANE, last_name="MÜLLER")),
            "claims[0].subscriber.last_name",
            "non-ASCII",
        ),
        (professional_claim(subscriber=replace(JANE, first_name=" JANE")), "claims[0].subscriber.first_name", "spaces"),
        (professional_claim(subscriber=replace(JANE, birth_date=None)), "claims[0].subscriber.birth_date", "required"),
        (professional_claim(subscriber=replace(JANE, address=None)), "claims[0].subscriber.address", "is the patient"),
        (
            professional_claim(subscriber=replace(JANE, address=Address("1 A ST", "X", "IL", "62704"))),
            "claims[0].subscriber.address.city",
            "2 to 30",
        ),
        (
            professional_claim(subscriber=replace(JANE, address=replace(JANE.address, state="XX"))),
            "claims[0].subscriber.address.state",
            "one of",
        ),
        (
            dependent_claim(patient=replace(TIMMY, relationship=Relationship.SELF)),
            "claims[0].patient.relationship",
            "one of",
        ),
        (dependent_claim(patient=replace(TIMMY, sex="X")), "claims[0].patient.sex", "one of F, M, U"),
    ],
)
def test_claim_level_problems_name_the_field(claim: Claim, field: str, fragment: str) -> None:
    problems = _problems(claim)

    assert field in _fields(problems)
    assert fragment in next(p.message for p in problems if p.field == field)


LINE_CASES = [
    ({"charge_cents": Decimal("150.00")}, "charge_cents", "integer cents"),
    ({"charge_cents": -1}, "charge_cents", "negative"),
    ({"units": 0}, "units", "greater than zero"),
    ({"units": 1.5}, "units", "int or Decimal"),
    ({"procedure_code": None, "modifiers": ()}, "procedure_code", "required on a professional line"),
    ({"procedure_code": "9921"}, "procedure_code", "5-character"),
    ({"modifiers": ("25", "59", "XS", "GT", "95")}, "modifiers", "at most 4"),
    ({"modifiers": ("2",)}, "modifiers[0]", "2-character"),
    ({"diagnosis_pointers": ()}, "diagnosis_pointers", "at least one"),
    ({"diagnosis_pointers": (3,)}, "diagnosis_pointers[0]", "one of 2 diagnoses"),
    ({"diagnosis_pointers": (1, 1)}, "diagnosis_pointers", "repeats"),
    ({"diagnosis_pointers": (1, 2, 1, 2, 1)}, "diagnosis_pointers", "at most 4"),
    ({"service_date": None}, "service_date", "required"),
    ({"service_date_end": date(2025, 3, 1)}, "service_date_end", "before service_date"),
    ({"revenue_code": "0450"}, "revenue_code", "only used on institutional"),
    ({"control_number": "LN:1"}, "control_number", "cannot carry"),
    ({"place_of_service": "2"}, "place_of_service", "2 digits"),
]


@pytest.mark.parametrize(("changes", "name", "fragment"), LINE_CASES, ids=[c[1] + ":" + c[2] for c in LINE_CASES])
def test_professional_line_problems_name_the_field(changes: dict[str, Any], name: str, fragment: str) -> None:
    base = professional_claim()
    lines = _line(base, 0, **changes)
    charge = lines[0].charge_cents
    total = sum(line.charge_cents for line in lines) if type(charge) is int and charge >= 0 else base.total_charge_cents

    problems = _problems(replace(base, lines=lines, total_charge_cents=total))

    field = f"claims[0].lines[0].{name}"
    assert field in _fields(problems), problems
    assert fragment in next(p.message for p in problems if p.field == field)


def test_drug_identification_is_checked() -> None:
    claim = drug_claim()
    drug = claim.lines[1].drug
    bad = replace(claim, lines=_line(claim, 1, drug=replace(drug, ndc="0009-0473-01", quantity=0, unit="LB")))

    assert _fields(_problems(bad)) == [
        "claims[0].lines[1].drug.ndc",
        "claims[0].lines[1].drug.quantity",
        "claims[0].lines[1].drug.unit",
    ]


def test_institutional_checks() -> None:
    claim = institutional_claim()
    details = claim.institutional
    no_admission = replace(claim, institutional=replace(details, admission=None))
    backwards = replace(claim, institutional=replace(details, statement_to=date(2025, 2, 1)))
    outside = replace(claim, lines=_line(claim, 1, service_date=date(2025, 3, 9)))
    no_revenue = replace(claim, lines=_line(claim, 0, revenue_code=None))
    pointers = replace(claim, lines=_line(claim, 0, diagnosis_pointers=(1,)))
    poa = replace(claim, institutional=replace(details, present_on_admission=("Y",)))
    person = replace(claim, billing_provider=replace(claim.billing_provider, first_name="ANA"))
    hour = replace(claim, institutional=replace(details, admission=replace(details.admission, hour=24)))

    assert _fields(_problems(no_admission)) == ["claims[0].institutional.admission"]
    assert _fields(_problems(backwards)) == ["claims[0].institutional.statement_to"]
    assert _fields(_problems(outside)) == ["claims[0].lines[1].service_date"]
    assert _fields(_problems(no_revenue)) == ["claims[0].lines[0].revenue_code"]
    assert _fields(_problems(pointers)) == ["claims[0].lines[0].diagnosis_pointers"]
    assert _fields(_problems(poa)) == ["claims[0].institutional.present_on_admission"]
    assert _fields(_problems(person)) == ["claims[0].billing_provider.first_name"]
    assert _fields(_problems(hour)) == ["claims[0].institutional.admission.hour"]


def test_institutional_outpatient_checks_take_the_same_care() -> None:
    claim = institutional_outpatient_claim()
    details = claim.institutional

    assert _fields(_problems(replace(claim, institutional=replace(details, facility_type_code="1")))) == [
        "claims[0].institutional.facility_type_code"
    ]
    assert _fields(_problems(replace(claim, institutional=replace(details, patient_status_code="1")))) == [
        "claims[0].institutional.patient_status_code"
    ]
    assert _fields(_problems(replace(claim, lines=_line(claim, 0, revenue_code="450")))) == [
        "claims[0].lines[0].revenue_code"
    ]
    assert _fields(_problems(replace(claim, diagnoses=("E11.9",) * 26))) == ["claims[0].diagnoses"]


def test_secondary_claim_must_balance_per_line_and_per_claim() -> None:
    claim = secondary_claim()
    other = claim.other_payers[0]
    first = other.line_adjudications[0]
    short = replace(first, adjustments=first.adjustments[:1])  # drops the PR-2 of 20.00
    unbalanced = replace(
        claim, other_payers=(replace(other, line_adjudications=(short, *other.line_adjudications[1:])),)
    )

    problems = _problems(unbalanced)

    assert _fields(problems) == [
        "claims[0].other_payers[0].line_adjudications[0].paid_cents",
        "claims[0].other_payers[0].paid_cents",
    ]
    assert "line charge 15000 minus adjustments 5000 is 10000, not the paid 8000" in problems[0].message
    assert "COB does not balance" in problems[1].message


def test_secondary_claim_other_payer_checks() -> None:
    claim = secondary_claim()
    other = claim.other_payers[0]
    same_payer = replace(claim, other_payers=(replace(other, payer=claim.payer),))
    primary_claim = replace(claim, payer_responsibility="P")
    bad_line = replace(
        claim, other_payers=(replace(other, line_adjudications=(replace(other.line_adjudications[0], line_number=3),)),)
    )
    bad_carc = replace(
        claim,
        other_payers=(
            replace(
                other,
                line_adjudications=(),
                claim_adjustments=(Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45!", 9500),),
            ),
        ),
    )
    bad_group = replace(
        claim,
        other_payers=(replace(other, line_adjudications=(), claim_adjustments=(Adjustment("XX", "45", 9500),)),),
    )

    assert "claims[0].other_payers[0].payer.payer_id" in _fields(_problems(same_payer))
    assert "claims[0].payer_responsibility" in _fields(_problems(primary_claim))
    assert "claims[0].other_payers[0].line_adjudications[0].line_number" in _fields(_problems(bad_line))
    assert _fields(_problems(bad_carc)) == ["claims[0].other_payers[0].claim_adjustments[0].reason_code"]
    assert _fields(_problems(bad_group)) == ["claims[0].other_payers[0].claim_adjustments[0].group"]


def test_every_claim_is_reported_with_its_index() -> None:
    claims = [professional_claim(), professional_claim(control_number=""), dependent_claim(diagnoses=("BAD",))]

    problems = validate_claims(claims)

    assert "claims[1].control_number" in _fields(problems)
    assert "claims[2].diagnoses[0]" in _fields(problems)
    assert not any(f.startswith("claims[0]") for f in _fields(problems))


def test_a_shared_invalid_party_is_reported_once() -> None:
    bad_clinic = replace(CLINIC, npi="1111111111")
    claims = [professional_claim(billing_provider=bad_clinic, control_number=f"C{n}") for n in range(3)]

    assert _fields(validate_claims(claims)) == ["claims[0].billing_provider.npi"]


def test_distinct_parties_are_each_checked() -> None:
    """Parties are cached by identity; a fresh object that is invalid must still be caught."""
    claims = [
        professional_claim(subscriber=replace(JANE, member_id=f"M{n:03d}", last_name="" if n == 7 else "DOE"))
        for n in range(10)
    ]

    assert _fields(validate_claims(claims)) == ["claims[7].subscriber.last_name"]


def test_non_claims_are_refused() -> None:
    assert _fields(validate_claims(["not a claim"])) == ["claims[0]"]  # type: ignore[list-item]


def test_a_party_equal_to_one_that_passed_passes_and_a_wrong_one_is_named_every_time() -> None:
    good = professional_claim()
    assert _problems(good) == []
    equal = replace(good, billing_provider=replace(good.billing_provider))  # a new object, the same value
    assert equal.billing_provider is not good.billing_provider
    assert _problems(equal) == []

    wrong = replace(good, billing_provider=replace(good.billing_provider, npi="1234567890"))
    for _ in range(2):  # a party that failed is never remembered as clean
        assert [p.field for p in _problems(wrong)] == ["claims[0].billing_provider.npi"]
    person = replace(good.billing_provider, first_name="JANE")
    assert _problems(replace(good, billing_provider=person)) == []  # a person may bill an 837P
    as_institutional = replace(institutional_claim(), billing_provider=person)  # but never an 837I
    assert "claims[0].billing_provider.first_name" in [p.field for p in _problems(as_institutional)]
