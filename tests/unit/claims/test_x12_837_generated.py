"""Generated claims: whatever the writer's own checks accept, pyx12 accepts too."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

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
    LineAdjudication,
    OtherCoverage,
    OtherPayer,
    PayerResponsibility,
    Relationship,
    ServiceLine,
)
from services.claims.domain.claim_checks import validate_claims
from services.claims.domain.x12_837 import write_interchange
from tests.support.pyx12_check import pyx12_errors
from tests.support.x12_837_builders import (
    ACME,
    BEACON,
    CONTROL,
    CREATED_AT,
    DR_CHEN,
    DR_RIVERA,
    JANE,
    LAB,
    REMIT_DAY,
    SERVICE_DAY,
    TIMMY,
    institutional_outpatient_claim,
    professional_claim,
)

ICD = ["E11.9", "I10", "J06.9", "M54.50", "R07.9", "Z00.00", "K21.9", "F41.1", "N39.0", "E78.5", "S93.401A", "R50.9"]
CPT = ["99213", "99214", "81002", "85025", "J1100", "G0439", "0001U"]
MODIFIERS = ["25", "59", "XS", "GT", "95", "LT", "RT", "JZ"]
REVENUE = ["0120", "0250", "0300", "0450", "0636"]

money = st.integers(min_value=0, max_value=9_999_999)
quantities = st.one_of(
    st.integers(min_value=1, max_value=999), st.decimals(min_value="0.001", max_value="999.999", places=3)
)


@st.composite
def adjudicated(draw: st.DrawFn, charge: int, number: int) -> LineAdjudication:
    contractual = draw(st.integers(min_value=0, max_value=charge))
    patient = draw(st.integers(min_value=0, max_value=charge - contractual))
    adjustments = [Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "45", contractual)]
    if patient:
        adjustments.append(
            Adjustment(AdjustmentGroup.PATIENT_RESPONSIBILITY, draw(st.sampled_from(["1", "2", "3"])), patient)
        )
    return LineAdjudication(
        line_number=number,
        paid_cents=charge - contractual - patient,
        adjudication_date=REMIT_DAY,
        paid_units=1 if charge - contractual - patient else draw(st.sampled_from([0, 1])),  # SVD05 0: denied
        adjustments=tuple(adjustments),
        remaining_patient_liability_cents=patient if draw(st.booleans()) else None,
    )


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    institutional = draw(st.booleans())
    diagnoses = tuple(draw(st.lists(st.sampled_from(ICD), min_size=1, max_size=12, unique=True)))
    if institutional and draw(st.booleans()):
        diagnoses = diagnoses + tuple(f"Z{n:02d}.{n % 10}" for n in range(draw(st.integers(0, 25 - len(diagnoses)))))
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        code = draw(st.sampled_from(CPT))
        start = SERVICE_DAY + timedelta(days=draw(st.integers(0, 2)))
        line = ServiceLine(
            charge_cents=draw(money),
            units=draw(quantities),
            procedure_code=code,
            modifiers=tuple(draw(st.lists(st.sampled_from(MODIFIERS), max_size=4, unique=True))),
            service_date=start,
            service_date_end=draw(st.sampled_from([None, start, start + timedelta(days=1)])),
            control_number=draw(st.sampled_from([None, "L-1", "LINE/2 (A)"])),
            drug=draw(st.sampled_from([None, DrugIdentification("00009047301", Decimal("0.5"), DrugUnit.MILLIGRAM)])),
        )
        if institutional:
            line = replace(
                line,
                revenue_code=draw(st.sampled_from(REVENUE)),
                procedure_code=draw(st.sampled_from([None, code])),
                service_date_end=None,
            )
            if line.procedure_code is None:
                line = replace(line, modifiers=())
        else:
            line = replace(
                line,
                diagnosis_pointers=tuple(
                    draw(st.lists(st.integers(1, min(len(diagnoses), 12)), min_size=1, max_size=4, unique=True))
                ),
                place_of_service=draw(st.sampled_from([None, "11", "21"])),
                emergency=draw(st.booleans()),
            )
        lines.append(line)
    fields = {
        "control_number": draw(st.sampled_from(["G-1", "CLAIM/2025-0001", "X" * 38])),
        "diagnoses": diagnoses,
        "lines": tuple(lines),
        "total_charge_cents": sum(line.charge_cents for line in lines),
        "patient": draw(st.sampled_from([None, TIMMY])),
        "frequency": draw(
            st.sampled_from(
                list(ClaimFrequency)
                if institutional
                else [ClaimFrequency.ORIGINAL, ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID]
            )
        ),
        "prior_authorization": draw(st.sampled_from([None, "AUTH 1"])),
        "referring_provider": draw(st.sampled_from([None, DR_CHEN])),
        "rendering_provider": draw(st.sampled_from([None, DR_RIVERA])),
        "service_facility": draw(st.sampled_from([None, LAB])),
        "provider_signature_on_file": draw(st.booleans()),
        "benefits_assigned": draw(st.booleans()),
    }
    if fields["frequency"] in (ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID):
        fields["original_claim_number"] = "ICN-0001"
    if draw(st.booleans()):
        adjudications = tuple(
            draw(adjudicated(line.charge_cents, number)) for number, line in enumerate(lines, 1) if draw(st.booleans())
        )
        adjusted = sum(a.amount_cents for adj in adjudications for a in adj.adjustments)
        claim_level = draw(st.integers(min_value=0, max_value=fields["total_charge_cents"] - adjusted))
        fields["payer"] = BEACON
        fields["payer_responsibility"] = PayerResponsibility.SECONDARY
        fields["other_payers"] = (
            OtherPayer(
                payer=ACME,
                responsibility=PayerResponsibility.PRIMARY,
                subscriber=JANE,
                relationship=Relationship.SELF if fields["patient"] is None else Relationship.CHILD,
                paid_cents=fields["total_charge_cents"] - adjusted - claim_level,
                adjudication_date=REMIT_DAY,
                claim_adjustments=(Adjustment(AdjustmentGroup.OTHER_ADJUSTMENT, "23", claim_level),)
                if claim_level
                else (),
                line_adjudications=adjudications,
                non_covered_cents=draw(st.sampled_from([None, 0, 100])),
            ),
        )
    elif draw(st.booleans()):  # a claim to the primary names the secondary it knows of
        fields["other_coverages"] = (
            OtherCoverage(
                payer=BEACON,
                responsibility=PayerResponsibility.SECONDARY,
                subscriber=JANE,
                relationship=Relationship.SELF if fields["patient"] is None else Relationship.CHILD,
            ),
        )
    if institutional:
        base = institutional_outpatient_claim()
        inpatient = draw(st.booleans())
        details = replace(
            base.institutional,
            facility_type_code="11" if inpatient else "13",
            statement_to=SERVICE_DAY + timedelta(days=3),
            admission=Admission(SERVICE_DAY, "2", "1", hour=draw(st.sampled_from([None, 0, 23])))
            if inpatient
            else None,
            admitting_diagnosis="R07.9" if inpatient else None,
            present_on_admission=tuple(draw(st.sampled_from(["Y", "N", "U", "W", ""])) for _ in diagnoses)
            if inpatient
            else (),
        )
        return replace(base, institutional=details, **fields)
    return professional_claim(place_of_service=draw(st.sampled_from(["11", "22", "02"])), **fields)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims(), min_size=1, max_size=3))
def test_claims_that_pass_our_checks_pass_pyx12(generated: list[Claim]) -> None:
    generated = [replace(c, control_number=f"{c.control_number[:30]}-{n}") for n, c in enumerate(generated)]
    assert validate_claims(generated) == []

    interchange = write_interchange(generated, CONTROL, CREATED_AT)

    assert pyx12_errors(interchange.text) == []
