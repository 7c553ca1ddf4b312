"""The validation fast path never accepts a claim the detailed checks would refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from x12_837_builders import SHAPES, drug_claim, institutional_claim, institutional_outpatient_claim, professional_claim

from services.claims.domain.claim import Admission, Claim, ClaimFrequency, DrugIdentification, DrugUnit
from services.claims.domain.x12_837 import _check_claim_own, _Checker, _plain_claim

texts = st.sampled_from(["PCN-1", "", " PCN", "PCN ", "A" * 38, "A" * 39, "X*Y", "É", "OK:1", "a~b", "GOOD"])
codes = st.sampled_from(["E11.9", "E119", "I10", "XYZ", "e11.9", "E11.", "S93.401A", "", "Z0000"])
procedures = st.sampled_from([None, "99213", "9921", "J1100", "j1100", "992134"])
modifiers = st.lists(st.sampled_from(["25", "59", "2", "JZ", "XS", "aa"]), max_size=5).map(tuple)
pointers = st.lists(st.integers(min_value=-1, max_value=14), max_size=5).map(tuple)
days = st.sampled_from([None, date(2025, 3, 3), date(2025, 3, 1), date(2025, 3, 9), datetime(2025, 3, 3, 1, 0)])
cents = st.one_of(st.integers(min_value=-5, max_value=50_000), st.sampled_from([10**16, Decimal("1.5")]))
units = st.sampled_from([1, 0, -1, 3, Decimal("2.5"), 10**15, 1.5])
drugs = st.sampled_from(
    [
        None,
        DrugIdentification("00009047301", 1, DrugUnit.MILLILITER),
        DrugIdentification("0009047301", 1, DrugUnit.MILLILITER),
        DrugIdentification("00009047301", 0, DrugUnit.MILLILITER),
        DrugIdentification("00009047301", Decimal("1.5"), DrugUnit.UNIT),
        DrugIdentification("00009047301", 1, "LB"),  # type: ignore[arg-type]
    ]
)


@st.composite
def mutated_claims(draw: st.DrawFn) -> Claim:
    base = draw(
        st.sampled_from([professional_claim, drug_claim, institutional_outpatient_claim, institutional_claim])
    )()
    lines = []
    for line in base.lines:
        if draw(st.booleans()):
            line = replace(
                line,
                charge_cents=draw(cents),
                units=draw(units),
                procedure_code=draw(procedures),
                modifiers=draw(modifiers),
                diagnosis_pointers=draw(pointers),
                service_date=draw(days),
                service_date_end=draw(st.sampled_from([None, date(2025, 3, 4), date(2025, 3, 1)])),
                revenue_code=draw(st.sampled_from([None, "0450", "450", "04500"])),
                place_of_service=draw(st.sampled_from([None, "11", "1", "AB"])),
                control_number=draw(st.one_of(st.none(), texts)),
                drug=draw(drugs),
                emergency=draw(st.booleans()),
            )
        lines.append(line)
    total = sum(line.charge_cents for line in lines if type(line.charge_cents) is int)
    frequency = draw(st.sampled_from([*ClaimFrequency, "9"]))
    claim = replace(
        base,
        control_number=draw(texts),
        diagnoses=tuple(draw(st.lists(codes, max_size=14))),
        lines=tuple(lines),
        total_charge_cents=draw(st.sampled_from([total, total + 1, base.total_charge_cents])),
        frequency=frequency,
        original_claim_number=draw(st.one_of(st.none(), texts)),
        prior_authorization=draw(st.one_of(st.none(), texts)),
        place_of_service=draw(st.sampled_from(["11", "1", "22", "ab"])),
    )
    details = claim.institutional
    if details is not None and draw(st.booleans()):
        claim = replace(
            claim,
            institutional=replace(
                details,
                facility_type_code=draw(st.sampled_from(["11", "13", "1", "AB"])),
                patient_status_code=draw(st.sampled_from(["01", "1", "30"])),
                statement_to=draw(st.sampled_from([details.statement_to, date(2025, 2, 1)])),
                admission=draw(
                    st.sampled_from(
                        [None, Admission(date(2025, 3, 1), "1", "7"), Admission(date(2025, 3, 1), "12", "7")]
                    )
                ),
                admitting_diagnosis=draw(st.sampled_from([None, "R07.9", "BAD"])),
            ),
        )
    return claim


@settings(max_examples=600, deadline=None)
@given(mutated_claims())
def test_fast_path_is_never_more_lenient_than_the_detailed_checks(claim: Claim) -> None:
    checker = _Checker()
    _check_claim_own(checker, "claims[0]", claim, claim.kind)

    if _plain_claim(claim):
        assert checker.problems == []


def test_the_common_shapes_take_the_fast_path() -> None:
    fast = {name for name, shape in SHAPES.items() if _plain_claim(shape())}

    assert {"professional", "dependent", "corrected", "void", "institutional_outpatient"} <= fast
