"""Every public 835 under ../shared/x12: the 5010 ones parse and balance, the others are refused clearly.

Figures asserted here were read off the files by hand, or, for claim amounts, by pyx12, the independent
parser: a payer's faulty non-financial element must not change the money we read.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest

from services.remittance.domain.balancing import balance_findings, balance_report
from services.remittance.domain.posting import (
    PaymentKey,
    SubmittedClaim,
    SubmittedLine,
    claim_payment_facts,
    read_claim_payments,
)
from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.domain.x12_835 import parse_835
from shared.x12 import X12SyntaxError, X12VersionError, decode_x12, parse_cents
from tests.support.x12_samples import SAMPLES, sample


def parse_balanced(relative: str) -> tuple[RemittanceAdvice, ...]:
    advices = parse_835(sample(relative))
    assert advices, relative
    assert balance_report(advices) == []
    return advices


def adjustments(advice: RemittanceAdvice, claim_index: int) -> list[tuple[str, str, int]]:
    claim = advice.claims[claim_index]
    return [(a.group, a.reason, a.amount_cents) for a in claim.all_adjustments]


BALANCED_5010 = [
    "pyx12/835_mult_loops.txt",
    "linuxforhealth_x12/managed-care.835",
    "linuxforhealth_x12/medicare-part-a.835",
    "edi-835-parser/emedny_sample.txt",
    "edi-835-parser/united_healthcare_legacy_sample.txt",
    "badx12/X221-dollars-and-data-sent-together.edi",
    "badx12/X221-multiple-claims-single-check.edi",
]


@pytest.mark.parametrize("relative", BALANCED_5010)
def test_enveloped_5010_samples_parse_and_balance(relative: str) -> None:
    for advice in parse_balanced(relative):
        assert advice.implementation == "005010X221A1"
        paid = sum(claim.paid_cents for claim in advice.claims)
        assert paid - advice.provider_adjustment_total_cents == advice.payment.amount_cents


def test_pyx12_denied_claim_with_line_level_adjustments() -> None:
    (advice,) = parse_balanced("pyx12/835_mult_loops.txt")
    assert (advice.payment.handling_code, advice.payment.amount_cents, advice.payment.method) == ("H", 0, "NON")
    assert advice.trace.trace_number == "000000000"
    (group,) = advice.header_numbers
    assert group.provider_summary is not None
    assert group.provider_summary.total_charge_cents == 91539
    (claim,) = advice.claims
    assert (claim.patient_control_number, claim.status, claim.charge_cents, claim.paid_cents) == (
        "2005555A",
        "4",
        91539,
        0,
    )
    assert [line.charge_cents for line in claim.lines] == [50004, 12780, 28755]
    assert adjustments(advice, 0) == [("CO", "16", 50004), ("OA", "A7", 12780), ("OA", "A7", 28755)]
    assert [remark.code for line in claim.lines for remark in line.remarks] == ["N14", "N14", "N14"]
    assert claim.lines[0].procedure.code == "T1005"
    assert [d.qualifier for d in claim.lines[0].dates] == ["150", "151"]


def test_managed_care_claim_and_line_level_adjustments() -> None:
    (advice,) = parse_balanced("linuxforhealth_x12/managed-care.835")
    assert advice.trace.trace_number == "7170066655"
    assert advice.payment.amount_cents == 94500
    assert advice.payment.payment_date == "20002316", "an impossible BPR16 is kept as written, not fatal"
    assert [c.patient_control_number for c in advice.claims] == ["5554555444", "8765432112"]
    assert adjustments(advice, 0) == [("CO", "A2", 5000), ("PR", "1", 30000)]
    assert adjustments(advice, 1) == [("CO", "A2", 5500), ("PR", "1", 60000), ("CO", "45", 5000)]
    assert advice.claims[1].patient_responsibility_cents == 60000
    assert advice.payee.id == "5544667733"


def test_medicare_part_a_summaries_and_negative_plb() -> None:
    (advice,) = parse_balanced("linuxforhealth_x12/medicare-part-a.835")
    assert advice.payment.amount_cents == 15000000
    assert [(p.reason, p.reference, p.amount_cents) for p in advice.provider_adjustments] == [("CV", "CP", -127)]
    assert [group.number for group in advice.header_numbers] == ["110212", "130212"]
    first, second = advice.header_numbers
    assert first.provider_summary is not None and first.supplemental_summary is not None
    assert first.provider_summary.total_charge_cents == 21136697
    assert first.supplemental_summary.values[0] == ("TS201", "2178.45")
    assert second.supplemental_summary is None
    claim, other = advice.claims
    assert (claim.charge_cents, claim.paid_cents, claim.facility_type, claim.frequency) == (
        21136697,
        13801840,
        "11",
        "1",
    )
    assert claim.inpatient is not None and claim.inpatient.amount("MIA04") == 13801840
    assert [(q.qualifier, q.quantity) for q in claim.quantities] == [("CA", 8)]
    assert other.outpatient is not None and other.outpatient.remark_codes == ("MA02",)
    assert adjustments(advice, 1) == [("CO", "45", 301967)]


def test_same_payment_in_another_layout_gives_the_same_figures() -> None:
    (advice,) = parse_balanced("badx12/X221-dollars-and-data-sent-together.edi")
    (reference,) = parse_balanced("linuxforhealth_x12/medicare-part-a.835")
    assert advice.payment.amount_cents == reference.payment.amount_cents
    assert [(c.charge_cents, c.paid_cents) for c in advice.claims] == [
        (c.charge_cents, c.paid_cents) for c in reference.claims
    ]
    assert advice.provider_adjustment_total_cents == -127
    assert [contact.function for contact in advice.payer.contacts] == ["BL"]


def test_emedny_denials_with_remarks() -> None:
    (advice,) = parse_balanced("edi-835-parser/emedny_sample.txt")
    assert advice.payment.amount_cents == 4575
    assert [(c.status, c.paid_cents) for c in advice.claims] == [("1", 3425), ("2", 0), ("2", 1150)]
    assert adjustments(advice, 1) == [("CO", "29", 1200), ("CO", "29", 2200)]
    third = advice.claims[2]
    assert [line.procedure.modifiers for line in third.lines] == [("RB",), ("RB",), ("RB",), ()]
    assert [r.code for line in third.lines for r in line.remarks] == ["N206", "N206"]
    assert third.name("74") is not None
    assert advice.payer.address is not None and advice.payer.address.city == "ALBANY"


def test_united_healthcare_composite_separator_and_multi_triplet_cas() -> None:
    (advice,) = parse_balanced("edi-835-parser/united_healthcare_legacy_sample.txt")
    assert advice.payment.amount_cents == 34999
    first, second = advice.claims
    assert (first.charge_cents, first.paid_cents, first.patient_responsibility_cents) == (34128, 8892, 10526)
    assert [line.procedure.code for line in first.lines] == ["B4152", "B4152"]
    assert [line.control_number for line in first.lines] == ["800941258001", "800941258002"]
    last_line = second.lines[2]
    assert [(a.group, a.reason, a.amount_cents) for a in last_line.adjustments] == [
        ("PR", "2", 513),
        ("PR", "1", 11000),
        ("CO", "45", 18432),
    ]
    assert second.paid_cents == 26107


def test_multiple_claims_single_check() -> None:
    (advice,) = parse_balanced("badx12/X221-multiple-claims-single-check.edi")
    assert advice.payment.amount_cents == 81080
    assert len(advice.claims) == 9
    assert sum(len(claim.lines) for claim in advice.claims) == 33
    assert [group.number for group in advice.header_numbers] == [str(n) for n in range(1, 10)]
    fourth = advice.claims[3]
    assert (fourth.charge_cents, fourth.paid_cents, fourth.patient_responsibility_cents) == (114500, 1400, 90200)
    assert fourth.lines[1].procedure.qualifier == "AD"


def test_deidentified_multi_interchange_file_parses_but_its_masked_amounts_do_not_balance() -> None:
    """Every amount in this sample was masked to 9s, so the balancer must flag it."""
    advices = parse_835(sample("oopfactory_x12parser/835_5010_WithMultipleInterchanges.txt"))
    assert [a.interchange_control_number for a in advices] == ["000000031", "000000032", "000000033"]
    assert [len(a.claims) for a in advices] == [19, 23, 14]
    assert advices[0].claims[0].lines[0].procedure.qualifier == "XX"
    first_findings = balance_findings(advices[0])
    claim_finding = first_findings[0]
    assert (claim_finding.rule, claim_finding.position, claim_finding.clp01) == ("claim", 18, "9999999999-999")
    assert (claim_finding.expected_cents, claim_finding.actual_cents) == (99999, 109998)
    transaction_finding = first_findings[-1]
    assert (transaction_finding.rule, transaction_finding.position) == ("transaction", 4)
    assert (transaction_finding.expected_cents, transaction_finding.actual_cents) == (99999, 77606)


@pytest.mark.parametrize(
    ("relative", "error_type", "position", "segment_id", "element", "message"),
    [
        (
            "edi-835-parser/blue_cross_nc_sample.txt",
            X12SyntaxError,
            1,
            "ST",
            None,
            "the file has no X12 envelope",
        ),
        (
            "oopfactory_x12parser/835_4010_DeIdent_02.dat",
            X12VersionError,
            2,
            "GS",
            8,
            "GS08 '999999X999X9' is not a supported 835 version",
        ),
        (
            "oopfactory_x12parser/835_5010_Example1.txt",
            X12VersionError,
            2,
            "GS",
            8,
            "GS08 '5010' is not a supported 835 version",
        ),
        (
            "tigershark/835-example.txt",
            X12SyntaxError,
            2,
            "~GS",
            None,
            "invalid segment id '~GS'",
        ),
    ],
)
def test_refused_samples_name_the_reason_and_position(
    relative: str,
    error_type: type[Exception],
    position: int,
    segment_id: str,
    element: int | None,
    message: str,
) -> None:
    with pytest.raises(error_type) as caught:
        parse_835(sample(relative))
    error = caught.value
    assert type(error) is error_type
    assert (error.position, error.segment_id, error.element_index) == (position, segment_id, element)  # type: ignore[attr-defined]
    assert message in str(error)


def test_tigershark_4010_with_its_terminator_repaired_is_refused_as_4010() -> None:
    """The same real 4010 remit, once its '~' line prefixes become terminators, meets the version check."""
    repaired = sample("tigershark/835-example.txt").decode().replace("\n~", "~\n").rstrip() + "~"
    with pytest.raises(X12VersionError, match="'004010X091A1' is a 4010 835, obsolete") as caught:
        parse_835(repaired)
    assert (caught.value.segment_id, caught.value.position, caught.value.element_index) == ("GS", 2, 8)


def pyx12_amounts(data: bytes) -> tuple[list[int], list[tuple[str, int, int]]]:
    """BPR02 of each transaction and (CLP01, CLP03, CLP04) of each claim, as pyx12 reads the file."""
    import pyx12.error_handler
    import pyx12.params
    from pyx12.x12context import X12ContextReader

    reader = X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), io.StringIO(decode_x12(data)))
    payments: list[int] = []
    claims: list[tuple[str, int, int]] = []
    for node in reader.iter_segments():
        if node.seg_data is None:
            continue
        segment_id = node.seg_data.get_seg_id()
        if segment_id == "BPR":
            payments.append(parse_cents(node.seg_data.get_value("BPR02")))
        elif segment_id == "CLP":
            value = node.seg_data.get_value
            claims.append((value("CLP01"), parse_cents(value("CLP03")), parse_cents(value("CLP04"))))
    return payments, claims


# Refused before issue 12: each fails only over its SVC01 composite, while its money balances.
NON_FINANCIAL_FAULTS = {
    "linuxforhealth_x12/cob-contractural-adjustment.835": [("SVC", 21, 1, "separates its components with '>'")],
    "linuxforhealth_x12/secondary-payment.835": [
        ("SVC", 29, 1, "SVC01 'HC>12345>26' separates its components with '>' but ISA16 declares ':'"),
        ("SVC", 34, 1, "SVC01 'HC>66543>26' separates its components with '>'"),
    ],
    "linuxforhealth_x12/tertiary-payment.835": [("SVC", 20, 1, "the code was sent as an element of its own")],
}


@pytest.mark.parametrize("relative", sorted(NON_FINANCIAL_FAULTS))
def test_samples_faulty_only_in_non_financial_elements_parse_balance_and_warn(relative: str) -> None:
    data = sample(relative)
    advices = parse_balanced(relative)
    warnings = [warning for advice in advices for warning in advice.warnings]
    expected = NON_FINANCIAL_FAULTS[relative]
    assert [(w.segment_id, w.position, w.element) for w in warnings] == [e[:3] for e in expected]
    for warning, (*_, message) in zip(warnings, expected, strict=True):
        assert message in warning.message
    payments, claims = pyx12_amounts(data)
    assert [advice.payment.amount_cents for advice in advices] == payments
    facts = read_claim_payments(advices, today=dt.date(2026, 1, 1))
    assert [(f.key.claim_control_number, f.charge_cents, f.paid_cents) for f in facts] == claims
    assert all(line.match_by_order for f in facts for line in f.lines)


def test_every_public_835_that_parses_reads_the_claim_amounts_pyx12_reads() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"public X12 samples not available under {SAMPLES}")
    checked = 0
    for path in sorted(SAMPLES.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        if b"ST*835*" not in data.replace(b"\n", b""):
            continue
        try:
            advices = parse_835(data)
        except (X12SyntaxError, X12VersionError):
            continue
        payments, claims = pyx12_amounts(data)
        assert [advice.payment.amount_cents for advice in advices] == payments, path
        assert [(c.patient_control_number, c.charge_cents, c.paid_cents) for a in advices for c in a.claims] == claims
        checked += 1
    assert checked >= 10


def test_tertiary_line_matches_our_line_by_order() -> None:
    """SVC01 'HC' without its code: the paid line is ours by its place in the claim, not by procedure."""
    (advice,) = parse_balanced("linuxforhealth_x12/tertiary-payment.835")
    (claim,) = advice.claims
    ours = SubmittedClaim(
        claim_id=uuid.UUID(int=1),
        claim_control_number=claim.patient_control_number,
        payer_id="1559123456",
        patient_id=None,
        total_charge_cents=claim.charge_cents,
        currency="USD",
        lines=(SubmittedLine(1, None, "24599", (), claim.charge_cents),),
    )
    key = PaymentKey("1559123456", advice.trace.trace_number, claim.patient_control_number, claim.status, 1)
    facts = claim_payment_facts(claim, key, paid_date=dt.date(2026, 1, 1), submitted=ours)
    assert [(line.line_number, line.charge_cents, line.paid_cents) for line in facts.lines] == [(1, 176650, 18750)]
