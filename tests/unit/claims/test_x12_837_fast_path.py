"""The validation fast path never accepts a claim the detailed checks would refuse.

Claims are the builders' shapes with zero to two single-field mutations, each drawn from a
pool of valid and invalid values, so both paths see many accepted and refused claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.claims.domain.claim import (
    Adjustment,
    AdjustmentGroup,
    Admission,
    Claim,
    ClaimFrequency,
    DrugIdentification,
    DrugUnit,
    PayerResponsibility,
    Relationship,
)
from services.claims.domain.claim_checks import _check_claim_own, _Checker, _plain_claim
from tests.support.x12_837_builders import (
    ACME,
    SHAPES,
    drug_claim,
    institutional_claim,
    institutional_outpatient_claim,
    institutional_secondary_claim,
    professional_claim,
    secondary_claim,
    secondary_claim_with_claim_level_adjustments,
)

TEXTS = ["PCN-1", "", " PCN", "PCN ", "A" * 38, "A" * 39, "A" * 51, "X*Y", "É", "OK:1", "a~b", "GOOD"]
DAYS = [None, date(2025, 3, 3), date(2025, 3, 1), date(2025, 3, 9), datetime(2025, 3, 3, 1, 0)]
UNITS = [1, 0, -1, 3, Decimal("2.5"), 10**15, 1.5, "1"]
CENTS = [0, 1, 15000, -1, 10**16, Decimal("1.5"), 150.0]
DRUGS = [
    None,
    DrugIdentification("00009047301", 1, DrugUnit.MILLILITER),
    DrugIdentification("0009047301", 1, DrugUnit.MILLILITER),
    DrugIdentification("00009047301", 0, DrugUnit.MILLILITER),
    DrugIdentification("00009047301", Decimal("1.5"), DrugUnit.UNIT),
    DrugIdentification("00009047301", 1, "LB"),  # type: ignore[arg-type]
]
ADJUSTMENTS = [
    (),
    (Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", 100),),
    (Adjustment("XX", "45", 100),),  # type: ignore[arg-type]
    (Adjustment(AdjustmentGroup.OTHER_ADJUSTMENT, "45!", 100),),
    (Adjustment(AdjustmentGroup.OTHER_ADJUSTMENT, "23", 100, quantity=1),),
    (Adjustment(AdjustmentGroup.OTHER_ADJUSTMENT, "23", Decimal(1)),),  # type: ignore[arg-type]
    tuple(Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", 1) for _ in range(7)),
    tuple(Adjustment(group, "1", 0) for group in AdjustmentGroup) + (Adjustment("CO", "2", 0),),  # type: ignore[arg-type]
]

Mutation = Callable[[Claim, Any], Claim]


def _claim_field(name: str, values: list[Any]) -> Mutation:
    return lambda claim, value: replace(claim, **{name: value})


def _line_field(name: str) -> Mutation:
    def mutate(claim: Claim, value: Any) -> Claim:
        index, new = value
        lines = list(claim.lines)
        lines[index % len(lines)] = replace(lines[index % len(lines)], **{name: new})
        return replace(claim, lines=tuple(lines))

    return mutate


def _details_field(name: str) -> Mutation:
    def mutate(claim: Claim, value: Any) -> Claim:
        if claim.institutional is None:
            return claim
        return replace(claim, institutional=replace(claim.institutional, **{name: value}))

    return mutate


def _other_field(name: str) -> Mutation:
    def mutate(claim: Claim, value: Any) -> Claim:
        if not claim.other_payers:
            return claim
        return replace(claim, other_payers=(replace(claim.other_payers[0], **{name: value}),))

    return mutate


def _adjudication_field(name: str) -> Mutation:
    def mutate(claim: Claim, value: Any) -> Claim:
        if not claim.other_payers or not claim.other_payers[0].line_adjudications:
            return claim
        other = claim.other_payers[0]
        adjudications = list(other.line_adjudications)
        adjudications[0] = replace(adjudications[0], **{name: value})
        return replace(claim, other_payers=(replace(other, line_adjudications=tuple(adjudications)),))

    return mutate


def _rebalance(claim: Claim, _: Any) -> Claim:
    return replace(
        claim, total_charge_cents=sum(line.charge_cents for line in claim.lines if type(line.charge_cents) is int)
    )


def _line_values(values: list[Any]) -> st.SearchStrategy[tuple[int, Any]]:
    return st.tuples(st.integers(0, 3), st.sampled_from(values))


MUTATIONS: list[tuple[Mutation, st.SearchStrategy[Any]]] = [
    (_claim_field("control_number", TEXTS), st.sampled_from(TEXTS)),
    (
        _claim_field("diagnoses", []),
        st.sampled_from([(), ("E11.9",), ("E119", "XYZ"), ("e11.9",), ("E11.9",) * 13, ("Z00.00",) * 25]),
    ),
    (_claim_field("total_charge_cents", []), st.sampled_from(CENTS)),
    (_claim_field("frequency", []), st.sampled_from([*ClaimFrequency, "9"])),
    (_claim_field("original_claim_number", []), st.sampled_from([None, *TEXTS])),
    (_claim_field("prior_authorization", []), st.sampled_from([None, *TEXTS])),
    (_claim_field("place_of_service", []), st.sampled_from(["11", "1", "22", "ab"])),
    (_claim_field("payer_responsibility", []), st.sampled_from([*PayerResponsibility, "Q"])),
    (_claim_field("assignment", []), st.sampled_from(["A", "B", "C", "Z"])),
    (_line_field("charge_cents"), _line_values(CENTS)),
    (_line_field("units"), _line_values(UNITS)),
    (_line_field("procedure_code"), _line_values([None, "99213", "9921", "J1100", "j1100", "992134"])),
    (
        _line_field("modifiers"),
        _line_values([(), ("25",), ("2",), ("25", "59", "XS", "GT"), ("25", "59", "XS", "GT", "95")]),
    ),
    (
        _line_field("diagnosis_pointers"),
        _line_values([(), (1,), (1, 2), (2,), (13,), (1, 1), (0,), (1, 2, 3, 4, 5), ("1",)]),
    ),
    (_line_field("service_date"), _line_values(DAYS)),
    (_line_field("service_date_end"), _line_values([None, date(2025, 3, 4), date(2025, 3, 1)])),
    (_line_field("revenue_code"), _line_values([None, "0450", "450", "04500"])),
    (_line_field("place_of_service"), _line_values([None, "11", "1", "AB"])),
    (_line_field("control_number"), _line_values([None, *TEXTS])),
    (_line_field("drug"), _line_values(DRUGS)),
    (_line_field("emergency"), _line_values([False, True])),
    (_rebalance, st.none()),
    (_details_field("facility_type_code"), st.sampled_from(["11", "13", "1", "AB"])),
    (_details_field("patient_status_code"), st.sampled_from(["01", "1", "30"])),
    (_details_field("statement_to"), st.sampled_from([date(2025, 3, 4), date(2025, 3, 3), date(2025, 2, 1)])),
    (
        _details_field("admission"),
        st.sampled_from(
            [
                None,
                Admission(date(2025, 3, 1), "1", "7"),
                Admission(date(2025, 3, 1), "12", "7"),
                Admission(date(2025, 3, 1), "1", "77"),
                Admission(date(2025, 3, 1), "1", "7", hour=25),
            ]
        ),
    ),
    (_details_field("admitting_diagnosis"), st.sampled_from([None, "R07.9", "BAD"])),
    (_details_field("present_on_admission"), st.sampled_from([(), ("Y",), ("Y", "N", "Y"), ("Y", "X", "Y")])),
    (_other_field("payer"), st.sampled_from([ACME, professional_claim().payer, secondary_claim().payer])),
    (_other_field("responsibility"), st.sampled_from([*PayerResponsibility, "Q"])),
    (_other_field("relationship"), st.sampled_from([*Relationship, "99"])),
    (_other_field("paid_cents"), st.sampled_from([8000, 8001, 11000, 0, -5, 1.0])),
    (_other_field("adjudication_date"), st.sampled_from(DAYS)),
    (_other_field("claim_adjustments"), st.sampled_from(ADJUSTMENTS)),
    (_other_field("line_adjudications"), st.sampled_from([()])),
    (_other_field("remaining_patient_liability_cents"), st.sampled_from([None, 0, -1, 4000, 1.5])),
    (_other_field("non_covered_cents"), st.sampled_from([None, 0, -1, 100])),
    (_other_field("payer_claim_control_number"), st.sampled_from([None, *TEXTS])),
    (_adjudication_field("line_number"), st.sampled_from([1, 2, 3, 0, "1"])),
    (_adjudication_field("paid_cents"), st.sampled_from([8000, 0, -1, 7999, 1.5])),
    (_adjudication_field("paid_units"), st.sampled_from(UNITS)),
    (_adjudication_field("procedure_code"), st.sampled_from([None, "99214", "9921"])),
    (_adjudication_field("modifiers"), st.sampled_from([(), ("25",), ("2",)])),
    (_adjudication_field("revenue_code"), st.sampled_from([None, "0450", "45"])),
    (_adjudication_field("adjustments"), st.sampled_from(ADJUSTMENTS)),
    (_adjudication_field("remaining_patient_liability_cents"), st.sampled_from([None, 0, -1, 2000])),
    (_adjudication_field("adjudication_date"), st.sampled_from(DAYS)),
]

SHAPE_BUILDERS = [
    professional_claim,
    drug_claim,
    institutional_outpatient_claim,
    institutional_claim,
    secondary_claim,
    secondary_claim_with_claim_level_adjustments,
    institutional_secondary_claim,
]


@st.composite
def mutated_claims(draw: st.DrawFn) -> Claim:
    claim = draw(st.sampled_from(SHAPE_BUILDERS))()
    for _ in range(draw(st.integers(0, 2))):
        mutate, values = draw(st.sampled_from(MUTATIONS))
        claim = mutate(claim, draw(values))
    return claim


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_claims())
def test_fast_path_is_never_more_lenient_than_the_detailed_checks(claim: Claim) -> None:
    checker = _Checker()
    _check_claim_own(checker, "claims[0]", claim, claim.kind)

    if _plain_claim(claim):
        assert checker.problems == []


def test_the_common_shapes_take_the_fast_path() -> None:
    fast = {name for name, shape in SHAPES.items() if _plain_claim(shape())}

    assert {
        "professional",
        "dependent",
        "corrected",
        "void",
        "institutional_outpatient",
        "secondary_line_level",
        "secondary_claim_level",
        "institutional_secondary",
    } <= fast
