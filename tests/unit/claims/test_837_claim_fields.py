"""The fields issue 12 adds to 837P/837I claims: each written in its loop and segment, pyx12-clean, and
refused by the writer's checks where the guide does not allow it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from services.claims.domain.claim import (
    Adjustment,
    AdjustmentGroup,
    Claim,
    ClaimFrequency,
    LineAdjudication,
    OtherCoverage,
    PayerResponsibility,
    Relationship,
    ServiceLine,
    UnitBasis,
)
from services.claims.domain.claim_builder import claim_from_encounter, writer_findings
from services.claims.domain.claim_checks import validate_claims
from services.claims.domain.payment_outcomes import secondary_encounter
from services.claims.domain.scrubber import ScrubContext, holds, scrub
from services.claims.domain.x12_837 import write_interchange
from shared.events.catalog import Adjustment as PaymentAdjustment
from shared.events.catalog import EncounterCodedV1, PaidLine, PaymentReceivedV1
from tests.support.encounters import event_of
from tests.support.pyx12_check import pyx12_errors
from tests.support.x12_837_builders import (
    BEACON,
    CONTROL,
    CREATED_AT,
    JANE,
    REMIT_DAY,
    institutional_claim,
    professional_claim,
    secondary_claim,
)
from tests.unit.claims.test_claim_builder import RECEIVER, SUBMITTER


def segments_of(claim: Claim) -> list[str]:
    text = write_interchange([claim], CONTROL, CREATED_AT).text
    assert pyx12_errors(text) == []
    return text.split("~")


def rendered(name: str) -> list[str]:
    """Example `name` through the claims mapper and the writer, checked by pyx12."""
    claim = claim_from_encounter(event_of(name), control_number="CF1", submitter=SUBMITTER, receiver=RECEIVER)
    return segments_of(claim)


# --------------------------------------------------------------------- secondary claims after a partial denial


def test_a_denied_line_with_zero_paid_units_is_valid_and_written_as_svd05_0() -> None:
    claim = secondary_claim()
    other = claim.other_payers[0]
    denied = LineAdjudication(
        line_number=2,
        paid_cents=0,
        adjudication_date=REMIT_DAY,
        paid_units=0,
        adjustments=(Adjustment(AdjustmentGroup.CONTRACTUAL_OBLIGATION, "50", claim.lines[1].charge_cents),),
    )
    paid_line = other.line_adjudications[0]
    other = dataclasses.replace(
        other,
        line_adjudications=(paid_line, denied),
        paid_cents=paid_line.paid_cents,
        remaining_patient_liability_cents=2000,
    )
    claim = dataclasses.replace(claim, other_payers=(other,))
    assert validate_claims([claim]) == []
    assert f"SVD*ACME01*0*HC:{claim.lines[1].procedure_code}**0" in segments_of(claim)


def test_negative_paid_units_are_still_refused() -> None:
    claim = secondary_claim()
    other = claim.other_payers[0]
    bad = dataclasses.replace(other.line_adjudications[1], paid_units=-1)
    claim = dataclasses.replace(
        claim, other_payers=(dataclasses.replace(other, line_adjudications=(other.line_adjudications[0], bad)),)
    )
    assert [p.field for p in validate_claims([claim])] == ["claims[0].other_payers[0].line_adjudications[1].paid_units"]


def two_line_primary() -> EncounterCodedV1:
    """The secondary example as billed to its primary, with a second line."""
    event = event_of("primary-with-secondary")
    second = event.lines[0].model_copy(update={"line_number": 2, "procedure_code": "81002", "charge_cents": 2000})
    return event.model_copy(update={"lines": [event.lines[0], second]})


def partial_denial(event: EncounterCodedV1) -> PaymentReceivedV1:
    """Line 1 paid 90.00 with 20.00 coinsurance; line 2 denied (CO-50, nothing paid)."""
    return PaymentReceivedV1(
        payment_id=uuid.uuid4(), claim_id=uuid.uuid4(), claim_control_number="CF1", payer_id="SANDBOX",
        trace_number="EFT-1", claim_status_code="1", charge_cents=17000, paid_cents=9000,
        patient_responsibility_cents=2000,
        adjustments=[
            PaymentAdjustment(group="CO", carc="45", amount_cents=4000, line_number=1),
            PaymentAdjustment(group="PR", carc="2", amount_cents=2000, line_number=1),
            PaymentAdjustment(group="CO", carc="50", amount_cents=2000, line_number=2),
        ],
        lines=[
            PaidLine(line_number=1, procedure_code="99214", charge_cents=15000, paid_cents=9000),
            PaidLine(line_number=2, procedure_code="81002", charge_cents=2000, paid_cents=0),
        ],
        next_responsible="secondary_payer", paid_date=event.service_date_to + dt.timedelta(days=18),
    )  # fmt: skip


def test_the_automatic_secondary_after_a_partial_denial_is_writable_not_held() -> None:
    primary = two_line_primary()
    secondary = secondary_encounter(primary, partial_denial(primary))
    assert secondary is not None
    assert [line.paid_units for line in secondary.prior_payer_adjudications[0].lines] == [1, 0]
    assert writer_findings(secondary, submitter=SUBMITTER, receiver=RECEIVER) == []
    claim = claim_from_encounter(secondary, control_number="CF2", submitter=SUBMITTER, receiver=RECEIVER)
    segments = segments_of(claim)
    assert "SVD*SANDBOX*0*HC:81002**0" in segments and "SVD*SANDBOX*90*HC:99214**1" in segments


# --------------------------------------------------------------------- other coverage on the primary claim


def test_a_claim_to_the_primary_names_the_known_secondary_in_2320_without_amounts() -> None:
    segments = rendered("primary-with-secondary")
    start = segments.index("SBR*S*18*******CI")
    loop = segments[start : segments.index("LX*1")]
    assert loop == [
        "SBR*S*18*******CI",
        "OI***Y***Y",
        "NM1*IL*1*NUNEZ-DOE*JOSE*OBRIEN***MI*SYN000000201",
        "N3*100 SYNTHETIC AVE",
        "N4*SPRINGFIELD*IL*62701",
        "NM1*PR*2*SANDBOX SECONDARY PLAN*****PI*SANDBOX2",
    ]
    assert not any(s.startswith(("AMT*D", "CAS*", "DTP*573")) for s in segments)
    assert next(s for s in segments if s.startswith("SBR*")) == "SBR*P*18*GRP-EX-1*EXAMPLE EMPLOYER*****CI"


def test_an_other_coverage_must_be_another_payer_at_another_responsibility() -> None:
    same = OtherCoverage(payer=professional_claim().payer, responsibility=PayerResponsibility.PRIMARY,
                         subscriber=JANE, relationship=Relationship.SELF)  # fmt: skip
    problems = validate_claims([professional_claim(other_coverages=(same,))])
    assert {p.field for p in problems} == {
        "claims[0].other_coverages[0].payer.payer_id",
        "claims[0].other_coverages[0].responsibility",
    }
    fine = OtherCoverage(BEACON, PayerResponsibility.SECONDARY, JANE, Relationship.SELF)
    assert validate_claims([professional_claim(other_coverages=(fine,))]) == []


# --------------------------------------------------------------------- names


def test_accented_names_are_sent_transliterated_and_kept_in_the_event() -> None:
    event = event_of("primary-with-secondary")
    assert event.phi is not None and event.phi.patient.first_name == "José"
    assert event.phi.patient.middle_name == "O\u2019Brien"
    assert "NM1*IL*1*NUNEZ-DOE*JOSE*OBRIEN***MI*SYN000000101" in rendered("primary-with-secondary")


# --------------------------------------------------------------------- $0.00 lines


def test_a_zero_charge_post_operative_visit_is_sent_not_held() -> None:
    event = event_of("post-op-no-charge")
    from services.claims.domain.claim_builder import draft_from_encounter

    findings = scrub(draft_from_encounter(event), ScrubContext(today=event.service_date_to))
    assert not holds(findings), findings
    assert "SV1*HC:99024*0*UN*1***1" in rendered("post-op-no-charge")


def test_a_zero_charge_on_a_billable_service_is_still_held() -> None:
    from services.claims.domain.claim_builder import draft_from_encounter

    event = event_of("professional")
    zero = event.model_copy(update={"lines": [event.lines[0].model_copy(update={"charge_cents": 0})]})
    findings = scrub(draft_from_encounter(zero), ScrubContext(today=event.service_date_to))
    assert holds(findings) and "charge.positive" in {f.rule_id for f in findings}


# --------------------------------------------------------------------- 837I inpatient


def test_an_inpatient_stay_carries_procedures_codes_drg_discharge_hour_and_operating_physicians() -> None:
    segments = rendered("inpatient")
    for expected in (
        "CLM*CF1*23380***11:A:1**A*Y*Y",
        "DTP*096*TM*1100",
        "HI*DR:470",
        "HI*BBR:0SR9019:D8:20260302",
        "HI*BBQ:0SRB0J9:D8:20260303",
        "HI*BI:74:RD8:20260225-20260227",
        "HI*BH:11:D8:20260220",
        "HI*BE:80:::3*BE:A1:::250",
        "HI*BG:39",
        "NM1*72*1*GARCIA*ROBIN****XX*1112226661",
        "NM1*ZZ*1*LEE*MORGAN****XX*1112227776",
    ):
        assert expected in segments, expected
    abf = [s for s in segments if s.startswith("HI*ABF:")]
    assert "ABF:Z794*" in abf[0]  # POA-exempt: no POA component at all
    assert len(abf) == 2 and abf[1] == "HI*ABF:Z6835"
    order = [s.split("*")[0] + "*" + s.split("*")[1][:3] for s in segments if s.startswith(("HI*", "NM1*7", "NM1*ZZ"))]
    assert order.index("HI*DR:") < order.index("HI*ABF") < order.index("HI*BBR") < order.index("NM1*71")


@pytest.mark.parametrize("frequency", ["2", "3", "4", "5"])
def test_interim_bills_and_late_charges_are_institutional_only(frequency: str) -> None:
    institutional = institutional_claim(frequency=ClaimFrequency(frequency))
    assert f"CLM*{institutional.control_number}*" in "~".join(segments_of(institutional))
    assert any(s.endswith(f":A:{frequency}**A*Y*Y") for s in segments_of(institutional))
    problems = validate_claims([professional_claim(frequency=ClaimFrequency(frequency))])
    assert [p.field for p in problems] == ["claims[0].frequency"]


def test_the_interim_bill_example_goes_out_as_type_of_bill_112() -> None:
    event = event_of("interim-bill")
    assert (event.frequency_code, event.interim_frequency_code) == ("1", "2")
    assert any(s.startswith("CLM*CF1*") and ":A:2*" in s for s in rendered("interim-bill"))


def test_an_837i_carries_25_diagnoses_and_999_lines() -> None:
    base = institutional_claim()
    diagnoses = base.diagnoses + tuple(f"Z{n:02d}.{n % 10}" for n in range(25 - len(base.diagnoses)))
    line = base.lines[0]
    lines = tuple(dataclasses.replace(line, control_number=f"L{n}") for n in range(999))
    claim = dataclasses.replace(
        base,
        diagnoses=diagnoses,
        lines=lines,
        total_charge_cents=line.charge_cents * 999,
        institutional=dataclasses.replace(base.institutional, present_on_admission=("Y",) * 25)
        if base.institutional and base.institutional.present_on_admission
        else base.institutional,
    )
    segments = segments_of(claim)
    assert sum(s.startswith("LX*") for s in segments) == 999
    assert sum(s.count("ABF:") for s in segments) == 24
    assert validate_claims([dataclasses.replace(claim, lines=(*lines, line))])[0].field == "claims[0].lines"


def test_inpatient_codes_are_checked_where_the_writer_reads_them() -> None:
    base = institutional_claim()
    assert base.institutional is not None
    details = dataclasses.replace(base.institutional, drg="47", discharge_hour=24, condition_codes=("3",),
                                  present_on_admission=("1",) * len(base.diagnoses))  # fmt: skip
    fields = {
        p.field.removeprefix("claims[0].institutional.")
        for p in validate_claims([dataclasses.replace(base, institutional=details)])
    }
    assert {"drg", "discharge_hour", "condition_codes[0]", "present_on_admission[0]"} <= fields


# --------------------------------------------------------------------- 837P practice fields


def test_anesthesia_minutes_a_supervising_provider_and_a_line_rendering_provider() -> None:
    segments = rendered("anesthesia")
    assert "SV1*HC:01402:QK*1425*MJ*95***1" in segments
    assert "NM1*DQ*1*KIM*TAYLOR****XX*1112223338" in segments
    lx = segments.index("LX*1")
    assert segments.index("NM1*82*1*PATEL*JORDAN****XX*1112224443") > lx


def test_an_ambulance_trip_after_an_auto_accident_sent_late_with_a_trip_report() -> None:
    segments = rendered("ambulance")
    clm = next(s for s in segments if s.startswith("CLM*"))
    assert clm == "CLM*CF1*1130***41:B:1*Y*C*N*I**AA:::IL*********7"
    for expected in ("DTP*431*D8*20260302", "DTP*439*D8*20260302", "PWK*AM*FX***AC*TRIP-EX-0001",
                     "CR1*LB*160**A*DH*12", "CRC*07*Y*01*04", "NM1*PW*2", "N3*500 MAPLE ST",
                     "NM1*45*2*EXAMPLE GENERAL HOSPITAL"):  # fmt: skip
        assert expected in segments, expected
    assert segments.index("CR1*LB*160**A*DH*12") < next(i for i, s in enumerate(segments) if s.startswith("HI*"))


def test_the_ambulance_pick_up_travels_only_in_the_phi_block() -> None:
    event = event_of("ambulance")
    assert event.ambulance is not None and event.phi is not None
    assert event.phi.ambulance_pick_up is not None and event.phi.patient_weight_lbs == 160
    assert "MAPLE" not in event.model_dump_json(exclude={"phi"})


def test_dme_with_a_certificate_an_ordering_provider_and_a_line_attachment() -> None:
    segments = rendered("dme")
    sv1 = segments.index("SV1*HC:E1390:RR*240*UN*1***1:2")
    assert segments[sv1 + 1 : sv1 + 3] == ["PWK*CT*EL***AC*CMN-EX-0001", "CR3*I*MO*12"]
    assert "NM1*DK*1*NGUYEN*CASEY****XX*1112225556" in segments[sv1:]


def test_practice_only_fields_are_refused_on_an_837i_and_checked_on_an_837p() -> None:
    line = dataclasses.replace(institutional_claim().lines[0], unit_basis=UnitBasis.MINUTES)
    base = institutional_claim()
    problems = validate_claims([dataclasses.replace(base, lines=(line, *base.lines[1:]), onset_date=REMIT_DAY)])
    assert {"claims[0].lines[0].unit_basis", "claims[0].onset_date"} <= {p.field for p in problems}
    bad_line: ServiceLine = dataclasses.replace(professional_claim().lines[0], attachments=())
    assert (
        validate_claims([professional_claim(delay_reason="12", lines=(bad_line, *professional_claim().lines[1:]))])[
            0
        ].field
        == "claims[0].delay_reason"
    )


def test_an_unscheduled_outpatient_visit_gives_the_patients_reasons_for_visit() -> None:
    from tests.support.x12_837_builders import institutional_outpatient_claim

    base = institutional_outpatient_claim()
    assert base.institutional is not None
    details = dataclasses.replace(base.institutional, patient_reasons_for_visit=("R07.9", "R06.02"))
    segments = segments_of(dataclasses.replace(base, institutional=details))
    assert "HI*APR:R079*APR:R0602" in segments
    assert segments.index("HI*APR:R079*APR:R0602") < next(i for i, s in enumerate(segments) if s.startswith("NM1*71"))
