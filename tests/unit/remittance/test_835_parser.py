"""The 835 parser on synthetic remittances: every loop read, and malformed input refused with its position."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.domain.x12_835 import parse_835
from shared.x12 import X12EnvelopeError, X12Error, X12SyntaxError, X12VersionError
from tests.support.synthetic_835 import FULL_BODY, MINIMAL_BODY, enveloped

FULL = enveloped(FULL_BODY)
MINIMAL = enveloped(MINIMAL_BODY)


@pytest.fixture(scope="module")
def advice() -> RemittanceAdvice:
    (parsed,) = parse_835(FULL)
    return parsed


class TestHeader:
    def test_envelope_identifiers(self, advice: RemittanceAdvice) -> None:
        assert (advice.control_number, advice.interchange_control_number, advice.group_control_number) == (
            "0001",
            "000000101",
            "101",
        )
        assert (advice.implementation, advice.position) == ("005010X221A1", 3)

    def test_financial_information(self, advice: RemittanceAdvice) -> None:
        payment = advice.payment
        assert (payment.handling_code, payment.amount_cents, payment.credit_debit) == ("I", 57000, "C")
        assert (payment.method, payment.format, payment.payment_date) == ("ACH", "CCP", "20260105")
        assert (payment.sender_dfi_id, payment.receiver_account, payment.originating_company_id) == (
            "999999999",
            "654321",
            "1999999999",
        )
        assert payment.position == 4

    def test_trace_currency_references_dates(self, advice: RemittanceAdvice) -> None:
        assert (advice.trace.trace_number, advice.trace.originating_company_supplemental_code) == ("EFT0001", "SUPPL")
        assert advice.currency is not None and (advice.currency.entity, advice.currency.code) == ("PR", "USD")
        assert [(r.qualifier, r.value, r.position) for r in advice.references] == [("EV", "SYNTHRECEIVER", 7)]
        assert advice.production_date == "20260102"

    def test_payer_and_payee_loops(self, advice: RemittanceAdvice) -> None:
        payer, payee = advice.payer, advice.payee
        assert (payer.entity, payer.name, payer.position) == ("PR", "SYNTHETIC HEALTH PLAN", 9)
        assert payer.address is not None
        assert (payer.address.lines, payer.address.city, payer.address.postal_code) == (
            ("1 TEST WAY", "SUITE 9"),
            "TESTVILLE",
            "90000",
        )
        assert [(c.function, c.channels) for c in payer.contacts] == [
            ("CX", (("TE", "5550000000"),)),
            ("BL", (("EM", "edi@example.invalid"), ("TE", "5550000009"))),
        ]
        assert [r.qualifier for r in payer.references] == ["2U"]
        assert (payee.entity, payee.id_qualifier, payee.id, payee.position) == ("PE", "XX", "1234567893", 15)
        assert payee.delivery is not None and payee.delivery.method == "EM"


class TestClaims:
    def test_header_numbers_and_summaries(self, advice: RemittanceAdvice) -> None:
        first, second = advice.header_numbers
        assert (first.number, first.position, second.number, second.position) == ("1", 20, "2", 56)
        assert first.provider_summary is not None
        assert first.provider_summary.claim_count == Decimal(1)
        assert first.provider_summary.total_charge_cents == 105000
        assert first.provider_summary.amounts == (("TS313", 10000),)
        assert first.supplemental_summary is not None
        assert first.supplemental_summary.values == (("TS201", "100.00"), ("TS202", "50.00"))
        assert [len(group.claims) for group in advice.header_numbers] == [1, 2]

    def test_claim_payment(self, advice: RemittanceAdvice) -> None:
        claim = advice.claims[0]
        assert (claim.patient_control_number, claim.status, claim.position) == ("SYN-CLAIM-1", "1", 23)
        assert (claim.charge_cents, claim.paid_cents, claim.patient_responsibility_cents) == (105000, 70000, 15000)
        assert (claim.filing_indicator, claim.payer_claim_control_number, claim.facility_type, claim.frequency) == (
            "12",
            "PAYERCCN1",
            "11",
            "1",
        )
        assert (claim.drg_code, claim.drg_weight, claim.discharge_fraction) == (
            "DRG1",
            Decimal("1.2500"),
            Decimal("0.5"),
        )
        assert claim.header_number == "1"
        assert [(a.group, a.reason, a.amount_cents, a.position) for a in claim.adjustments] == [("CO", "45", 5000, 24)]

    def test_claim_names(self, advice: RemittanceAdvice) -> None:
        claim = advice.claims[0]
        assert [name.entity for name in claim.names] == ["QC", "IL", "74", "82", "TT", "PR"]
        patient = claim.name("QC")
        assert patient is not None
        assert (patient.middle_name, patient.suffix, patient.id_qualifier, patient.id) == ("Q", "JR", "MI", "SYN000001")
        crossover = claim.name("TT")
        assert crossover is not None and (crossover.entity_type, crossover.id) == ("2", "SYN77")
        assert claim.name("GB") is None

    def test_claim_supplemental_segments(self, advice: RemittanceAdvice) -> None:
        claim = advice.claims[0]
        assert claim.inpatient is not None
        assert (claim.inpatient.covered_days, claim.inpatient.amount("MIA04"), claim.inpatient.remark_codes) == (
            Decimal(2),
            50000,
            ("MA01",),
        )
        assert claim.outpatient is not None
        assert (claim.outpatient.reimbursement_rate, claim.outpatient.hcpcs_payable_cents) == (Decimal("0.8"), 1000)
        assert claim.outpatient.remark_codes == ("MA01", "MA02")
        assert [r.qualifier for r in claim.references] == ["1L", "EA"]
        assert [(d.qualifier, d.date) for d in claim.dates] == [
            ("232", "20251201"),
            ("233", "20251202"),
            ("050", "20251215"),
        ]
        assert [c.function for c in claim.contacts] == ["CX"]
        assert [(a.qualifier, a.amount_cents) for a in claim.amounts] == [("AU", 90000)]
        assert [(q.qualifier, q.quantity) for q in claim.quantities] == [("CA", Decimal(2))]

    def test_service_lines(self, advice: RemittanceAdvice) -> None:
        first, second = advice.claims[0].lines
        assert (first.procedure.qualifier, first.procedure.code, first.procedure.modifiers) == (
            "HC",
            "99213",
            ("25", "59"),
        )
        assert (first.charge_cents, first.paid_cents, first.units_paid, first.position) == (
            60000,
            42000,
            Decimal(1),
            41,
        )
        assert first.submitted_procedure is not None and first.submitted_procedure.code == "99214"
        assert first.units_submitted == Decimal(1)
        assert first.control_number == "LINE-1"
        assert [(a.group, a.reason, a.amount_cents, a.quantity) for a in first.adjustments] == [
            ("PR", "1", 10000, Decimal(1)),
            ("PR", "2", 3000, None),
            ("PR", "3", 2000, None),
            ("CO", "45", 3000, None),
        ]
        assert [(a.qualifier, a.amount_cents) for a in first.amounts] == [("B6", 55000)]
        assert [(q.qualifier, q.quantity) for q in first.quantities] == [("ZK", Decimal(1))]
        assert [(r.qualifier, r.code) for r in first.remarks] == [("HE", "N130"), ("HE", "M15")]
        assert [r.qualifier for r in first.references] == ["6R", "LU"]
        assert (second.procedure.qualifier, second.procedure.code, second.revenue_code) == ("NU", "0450", "0450")
        assert [d.qualifier for d in second.dates] == ["150", "151"]

    def test_six_triplet_cas_and_reversal(self, advice: RemittanceAdvice) -> None:
        denied, reversal = advice.claims[1], advice.claims[2]
        assert [a.reason for a in denied.adjustments] == ["16", "18", "29", "50", "96", "97"]
        assert sum(a.amount_cents for a in denied.adjustments) == 25000
        assert denied.patient_responsibility_cents is None
        assert (reversal.status, reversal.charge_cents, reversal.paid_cents, reversal.frequency) == (
            "22",
            -20000,
            -15000,
            "7",
        )
        assert reversal.all_adjustments[0].amount_cents == -5000

    def test_all_adjustments_lists_claim_then_line_level(self, advice: RemittanceAdvice) -> None:
        claim = advice.claims[0]
        assert [a.position for a in claim.all_adjustments] == [24, 43, 43, 43, 44, 54, 54]

    def test_provider_adjustments(self, advice: RemittanceAdvice) -> None:
        assert [(p.reason, p.reference, p.amount_cents, p.position) for p in advice.provider_adjustments] == [
            ("WO", "REF1", -2500, 63),
            ("L6", "INT", 500, 63),
        ]
        assert advice.provider_adjustment_total_cents == -2000
        assert advice.provider_adjustments[0].fiscal_period_date == "20261231"


class TestTolerance:
    def test_odd_delimiters_give_the_same_remittance(self, advice: RemittanceAdvice) -> None:
        odd = FULL.translate(str.maketrans({"*": "|", ":": ">", "~": "\x1d", "^": "!"}))
        (parsed,) = parse_835(odd.replace("\n", "\r\n  "))
        assert parsed == advice

    def test_claims_without_lx(self) -> None:
        (parsed,) = parse_835(MINIMAL.replace("LX*1~\n", "").replace("SE*11*", "SE*10*"))
        (group,) = parsed.header_numbers
        assert (group.number, group.position, len(group.claims)) == (None, None, 1)

    def test_several_transactions_and_interchanges(self) -> None:
        parsed = parse_835(enveloped(MINIMAL_BODY, FULL_BODY) + MINIMAL)
        assert [(a.control_number, a.position) for a in parsed] == [("0001", 3), ("0002", 14), ("0001", 80)]


def refused(text: str | bytes) -> X12Error:
    with pytest.raises(X12Error) as caught:
        parse_835(text)
    return caught.value


# MINIMAL positions: BPR 4, TRN 5, N1*PR 6, N1*PE 7, LX 8, CLP 9, NM1 10, SVC 11, CAS 12, SE 13.
class TestRefused:
    def test_truncated_file(self) -> None:
        error = refused(MINIMAL[: MINIMAL.index("SVC*") + 12])
        assert isinstance(error, X12SyntaxError)
        assert (error.segment_id, error.position) == ("SVC", 11)
        assert "truncated" in error.message

    def test_wrong_se01_count(self) -> None:
        error = refused(enveloped(MINIMAL_BODY, se_counts={1: 10}))
        assert isinstance(error, X12EnvelopeError)
        assert (error.segment_id, error.position, error.element_index) == ("SE", 13, 1)
        assert "SE01 says 10 segments but transaction set '0001' has 11" in error.message

    def test_segment_terminator_declared_but_not_used(self) -> None:
        error = refused(MINIMAL.replace("*:~", "*:|", 1))
        assert isinstance(error, X12SyntaxError)
        assert (error.segment_id, error.position) == ("GS", 2)
        assert "segment GS has no segment terminator '|' (the character after ISA16)" in error.message

    def test_letter_as_delimiter(self) -> None:
        error = refused(MINIMAL.replace("*:~", "*X~", 1))
        assert isinstance(error, X12SyntaxError)
        assert (error.position, error.element_index) == (1, 16)
        assert "component separator (ISA16) is 'X'" in error.message

    def test_obsolete_4010(self) -> None:
        error = refused(enveloped(MINIMAL_BODY, version="004010X091A1"))
        assert isinstance(error, X12VersionError)
        assert (error.segment_id, error.position, error.element_index) == ("GS", 2, 8)
        assert "'004010X091A1' is a 4010 835, obsolete" in error.message
        assert "005010X221A1" in error.message

    def test_unknown_version(self) -> None:
        error = refused(enveloped(MINIMAL_BODY, version="006020X221"))
        assert isinstance(error, X12VersionError)
        assert "GS08 '006020X221' is not a supported 835 version" in str(error)

    def test_st03_version_disagreeing(self) -> None:
        error = refused(MINIMAL.replace("ST*835*0001", "ST*835*0001*004010X091A1"))
        assert isinstance(error, X12VersionError)
        assert (error.segment_id, error.position, error.element_index) == ("ST", 3, 3)

    def test_not_an_835(self) -> None:
        error = refused(enveloped(MINIMAL_BODY, transaction_id="837"))
        assert isinstance(error, X12VersionError)
        assert (error.segment_id, error.position, error.message) == (
            "ST",
            3,
            "ST01 '837': transaction set is not an 835",
        )

    def test_not_a_payment_group(self) -> None:
        error = refused(enveloped(MINIMAL_BODY, functional_id="HC", version="005010X222A1"))
        assert isinstance(error, X12VersionError)
        assert (error.segment_id, error.element_index) == ("GS", 1)

    @pytest.mark.parametrize(
        ("old", "new", "segment_id", "position", "element", "message"),
        [
            ("BPR*I*100.00", "BPR*I*1OO.00", "BPR", 4, 2, "BPR02 '1OO.00' is not a decimal amount"),
            ("BPR*I*100.00", "BPR*I*100.001", "BPR", 4, 2, "BPR02 '100.001' has digits below one cent"),
            ("TRN*1*CHK0001", "TRN*1*", "TRN", 5, 2, "TRN02 (check or EFT trace number) is required"),
            ("TRN*1*CHK0001*1999999999~", "", "N1", 5, None, "the reassociation trace TRN must follow BPR"),
            ("N1*PE*SYNTHETIC CLINIC", "N1*XX*SYNTHETIC CLINIC", "N1", 7, None, "expected the payee loop N1*PE"),
            ("CLP*SYN-MIN-1*1*120.00", "CLP*SYN-MIN-1**120.00", "CLP", 9, 2, "CLP02 is required but missing"),
            ("CLP*SYN-MIN-1*1*120.00*100.00", "CLP*SYN-MIN-1*1*120.00*", "CLP", 9, 4, "CLP04 is required"),
            ("CAS*PR*2*20.00", "CAS*CR*2*20.00", "CAS", 12, 1, "CAS01 'CR' is not a claim adjustment group code"),
            ("CAS*PR*2*20.00", "CAS*PR*2*", "CAS", 12, 3, "CAS03 (amount) is required but missing"),
            ("CAS*PR*2*20.00", "CAS*PR*2*20.00***5.00", "CAS", 12, 5, "CAS05 is required but missing"),
            ("CAS*PR*2*20.00", "CAS*PR" + "*1*1.00*" * 7, "CAS", 12, 20, "more than six"),
            ("SVC*HC:99212*120.00", "SVC*HC:99212*12O.00", "SVC", 11, 2, "SVC02 '12O.00' is not a decimal amount"),
            ("BPR*I*100.00", "BPR*I*10000000000000.00", "BPR", 4, 2, "is beyond any payment"),
            ("CLP*SYN-MIN-1", "CLP*" + "9" * 81, "CLP", 9, 1, "CLP01 (patient control number) is 81 characters"),
            ("TRN*1*CHK0001", "TRN*1*" + "C" * 81, "TRN", 5, 2, "an identifier has at most 80"),
            ("SVC*HC:99212*120.00*100.00", "SVC*HC:99212*120.00*", "SVC", 11, 3, "SVC03 (amount) is required"),
        ],
    )
    def test_malformed_segment(
        self, old: str, new: str, segment_id: str, position: int, element: int | None, message: str
    ) -> None:
        assert old in MINIMAL_BODY
        error = refused(enveloped(MINIMAL_BODY.replace(old, new, 1)))
        assert isinstance(error, X12SyntaxError)
        assert (error.segment_id, error.position, error.element_index) == (segment_id, position, element)
        assert message in error.message

    def test_first_segment_must_be_bpr(self) -> None:
        error = refused(MINIMAL.replace("BPR*", "REF*", 1))
        assert (error.segment_id, error.position) == ("REF", 4)
        assert "an 835 starts with BPR after ST" in error.message

    def test_claim_segment_after_service_lines(self) -> None:
        text = MINIMAL.replace("CAS*PR*2*20.00~", "CAS*PR*2*20.00~\nNM1*82*2*LATE PROVIDER~")
        error = refused(text.replace("SE*11*", "SE*12*"))
        assert (error.segment_id, error.position) == ("NM1", 13)
        assert "belongs to the claim (loop 2100) before its service lines" in error.message

    def test_line_segment_at_claim_level(self) -> None:
        text = MINIMAL.replace("NM1*QC*1*TESTPATIENT*ETA~", "NM1*QC*1*TESTPATIENT*ETA~\nLQ*HE*N1~")
        error = refused(text.replace("SE*11*", "SE*12*"))
        assert (error.segment_id, error.position) == ("LQ", 11)
        assert "LQ is out of place after NM1 at segment 10" in error.message

    def test_claim_after_provider_adjustments(self) -> None:
        text = MINIMAL.replace("CAS*PR*2*20.00~", "CAS*PR*2*20.00~\nPLB*1*20261231*WO*1.00~\nLX*2~")
        error = refused(text.replace("SE*11*", "SE*13*"))
        assert (error.segment_id, error.position) == ("LX", 14)

    @pytest.mark.parametrize(
        ("plb", "element", "message"),
        [
            ("PLB*1*20261231*WO:R1*", 4, "PLB04 is required"),
            ("PLB*1*20261231**5.00", 3, "PLB03 is required"),
            ("PLB*1*20261231", 3, "PLB03 is required"),
            ("PLB*1*20261231" + "*WO*1.00" * 7, 15, "more than six adjustment pairs"),
        ],
    )
    def test_malformed_provider_adjustment(self, plb: str, element: int, message: str) -> None:
        text = MINIMAL.replace("CAS*PR*2*20.00~", f"CAS*PR*2*20.00~\n{plb}~").replace("SE*11*", "SE*12*")
        error = refused(text)
        assert (error.segment_id, error.position, error.element_index) == ("PLB", 13, element)
        assert message in error.message


def tolerated(text: str) -> RemittanceAdvice:
    (parsed,) = parse_835(text)
    return parsed


# A payer's payment is not refused over a non-financial element: the element is read around or
# left out, and a positioned warning says so (MINIMAL positions as above).
class TestTolerated:
    @pytest.mark.parametrize(
        ("old", "new", "segment_id", "position", "element", "message"),
        [
            ("SVC*HC:99212", "SVC*HC>99212", "SVC", 11, 1, "separates its components with '>' but ISA16 declares ':'"),
            ("SVC*HC:99212", "SVC*HC", "SVC", 11, 1, "SVC01 'HC' has no procedure code"),
            ("SVC*HC:99212", "SVC*99212", "SVC", 11, 1, "does not start with a two-character product/service"),
            ("SVC*HC:99212", "SVC*", "SVC", 11, 1, "SVC01 (the adjudicated procedure) is missing"),
            ("100.00**1~", "100.00**X~", "SVC", 11, 5, "SVC05 'X' is not a decimal number"),
            ("100.00**1~", "100.00**1*HC~", "SVC", 11, 6, "the submitted procedure is ignored"),
            ("NM1*QC*1*TESTPATIENT", "NM1**1*TESTPATIENT", "NM1", 10, 1, "NM101 (entity identifier) is required"),
            ("N1*PR*SYNTHETIC HEALTH PLAN", "N1*PR*", "N1", 6, 2, "N102 (payer name) is required but missing"),
            ("LX*1~", "LX~", "LX", 8, 1, "LX01 (assigned number) is required"),
            ("*12*PAYERCCN9~", "*12*PAYERCCN9*****1.X~", "CLP", 9, 12, "CLP12 '1.X' is not a decimal number"),
        ],
    )
    def test_faulty_non_financial_element(
        self, old: str, new: str, segment_id: str, position: int, element: int | None, message: str
    ) -> None:
        assert old in MINIMAL_BODY
        advice = tolerated(enveloped(MINIMAL_BODY.replace(old, new, 1)))
        (warning,) = advice.warnings
        assert (warning.segment_id, warning.position, warning.element) == (segment_id, position, element)
        assert message in warning.message
        assert str(warning).startswith(f"segment {position} ({segment_id})")
        (claim,) = advice.claims
        assert (claim.charge_cents, claim.paid_cents, claim.lines[0].charge_cents) == (12000, 10000, 12000)

    def test_foreign_component_separator_is_read_with_its_modifiers(self) -> None:
        advice = tolerated(enveloped(MINIMAL_BODY.replace("SVC*HC:99212", "SVC*HC>99212>25>59")))
        (line,) = advice.claims[0].lines
        procedure = line.procedure
        assert (procedure.qualifier, procedure.code, procedure.modifiers) == ("HC", "99212", ("25", "59"))
        assert line.procedure_unreliable
        assert "read as 'HC 99212 25 59'" in advice.warnings[0].message

    def test_procedure_code_sent_as_its_own_element_is_read_where_the_line_balances(self) -> None:
        advice = tolerated(enveloped(MINIMAL_BODY.replace("SVC*HC:99212*", "SVC*HC*99212.00*")))
        (line,) = advice.claims[0].lines
        assert (line.procedure.code, line.charge_cents, line.paid_cents, line.units_paid) == (
            "99212.00",
            12000,
            10000,
            None,
        )
        assert line.units_submitted is None and line.submitted_procedure is None
        (warning,) = advice.warnings
        assert "SVC02-SVC07 are read one element to the right" in warning.message

    def test_a_shift_that_does_not_balance_is_not_taken(self) -> None:
        """Read as written, the line stays unbalanced: balancing refuses it, the parser does not guess."""
        advice = tolerated(enveloped(MINIMAL_BODY.replace("SVC*HC:99212*120.00*100.00", "SVC*HC*99212*130.00*90.00")))
        (line,) = advice.claims[0].lines
        assert (line.charge_cents, line.paid_cents) == (9921200, 13000)
        assert "has no procedure code" in advice.warnings[0].message

    def test_incomplete_informational_segments_are_left_out(self) -> None:
        body = MINIMAL_BODY.replace("CAS*PR*2*20.00~", "CAS*PR*2*20.00~\nREF*6R~\nDTM*472~\nLQ*HE~\nQTY*ZK*A~")
        body = body.replace("NM1*QC*1*TESTPATIENT*ETA~", "NM1*QC*1*TESTPATIENT*ETA~\nPER~")
        advice = tolerated(enveloped(body))
        assert [(w.segment_id, w.position, w.element) for w in advice.warnings] == [
            ("PER", 11, 1),
            ("REF", 14, 2),
            ("DTM", 15, 2),
            ("LQ", 16, 2),
            ("QTY", 17, 2),
        ]
        (line,) = advice.claims[0].lines
        assert (line.references, line.dates, line.remarks, line.quantities) == ((), (), (), ())
        assert all("is ignored" in warning.message for warning in advice.warnings)

    def test_plb_without_fiscal_period_still_adjusts(self) -> None:
        text = MINIMAL.replace("CAS*PR*2*20.00~", "CAS*PR*2*20.00~\nPLB*1**WO*5.00~").replace("SE*11*", "SE*12*")
        advice = tolerated(text.replace("BPR*I*100.00", "BPR*I*95.00"))
        assert [(p.reason, p.amount_cents) for p in advice.provider_adjustments] == [("WO", 500)]
        assert [(w.segment_id, w.element) for w in advice.warnings] == [("PLB", 2)]

    def test_a_clean_file_has_no_warnings(self, advice: RemittanceAdvice) -> None:
        assert advice.warnings == ()
        assert not any(line.procedure_unreliable for claim in advice.claims for line in claim.lines)


class TestControlCharacters:
    @pytest.mark.parametrize(
        ("old", "new", "segment_id", "position", "element", "named"),
        [
            ("CLP*SYN-MIN-1", "CLP*Z\x00SYN-MIN-1", "CLP", 9, 1, "U+0000 (NUL)"),
            ("NM1*QC*1*TESTPATIENT", "NM1*QC*1*TEST\x07PATIENT", "NM1", 10, 3, "U+0007"),
            ("SVC*HC:99212*120.00", "SVC*HC:99212*120.00\r\n", "SVC", 11, 2, "U+000D (CR)"),
            ("TRN*1*CHK0001", "TRN*1*CHK\x9b0001", "TRN", 5, 2, "U+009B"),
            ("N1*PE*SYNTHETIC", "N1*PE*SYN\x7fTHETIC", "N1", 7, 2, "U+007F (DEL)"),
        ],
    )
    def test_refused_with_segment_and_element(
        self, old: str, new: str, segment_id: str, position: int, element: int, named: str
    ) -> None:
        error = refused(enveloped(MINIMAL_BODY.replace(old, new, 1)))
        assert isinstance(error, X12SyntaxError)
        assert (error.segment_id, error.position, error.element_index) == (segment_id, position, element)
        assert named in error.message and f"{segment_id}{element:02d} contains the control character" in error.message

    def test_nul_bytes_refused_from_bytes_too(self) -> None:
        error = refused(enveloped(MINIMAL_BODY).replace("CLP*SYN", "CLP*\x00SYN").encode())
        assert (error.segment_id, error.position, error.element_index) == ("CLP", 9, 1)

    def test_control_characters_declared_as_delimiters_are_delimiters(self) -> None:
        text = enveloped(MINIMAL_BODY, line_break="").replace("*", "\x1d").replace("~", "\x1c").replace(":", "\x1f")
        (advice,) = parse_835(text)
        assert advice.claims[0].lines[0].procedure.code == "99212"
        assert advice.warnings == ()
