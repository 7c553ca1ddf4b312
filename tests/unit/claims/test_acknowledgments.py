"""999 and 277CA parsers on the public samples under ../shared/x12 (read in place) and on synthetic edge cases.

The sandbox's own 999/277CA output is parsed in tests/unit/sandbox. Figures here were read off the files by hand.
"""

from __future__ import annotations

import pytest

from services.claims.domain.acknowledgments import (
    AckStatus,
    StatusOutcome,
    outcome_of,
    parse_277ca,
    parse_999,
)
from shared.x12 import X12EnvelopeError, X12SyntaxError, X12VersionError
from tests.support.x12_samples import sample

ISA = "ISA*00*          *00*          *ZZ*SANDBOXCH      *ZZ*CLAIMFLOW01    *250314*0930*^*00501*000000005*0*T*:~"


def _file(functional_id: str, version: str, transaction: str, body: str, se_count: int | None = None) -> str:
    segments = [s for s in body.split("~") if s]
    count = se_count if se_count is not None else len(segments) + 2
    return (
        f"{ISA}GS*{functional_id}*SANDBOXCH*CLAIMFLOW01*20250314*0930*5*X*{version}~ST*{transaction}*0001*{version}~"
        + "".join(s + "~" for s in segments)
        + f"SE*{count}*0001~GE*1*5~IEA*1*000000005~"
    )


class Test999Samples:
    def test_accepted(self) -> None:
        (ack,) = parse_999(sample("imsweb_x12-parser/x12_999_accepted.txt"))
        assert (ack.functional_id, ack.group_control_number, ack.version) == ("HC", "17456", "005010X223A2")
        assert ack.status is AckStatus.ACCEPTED
        assert (ack.transaction_sets_included, ack.transaction_sets_received, ack.transaction_sets_accepted) == (
            1,
            1,
            1,
        )
        (transaction,) = ack.transaction_sets
        assert transaction.accepted and transaction.control_number == "0001"
        assert ack.transaction_set("1") is transaction
        # The sample's IEA02 does not repeat its ISA13: kept as a warning, the verdict is still read.
        assert len(ack.envelope_warnings) == 1 and "IEA02" in ack.envelope_warnings[0]

    def test_rejected_with_a_segment_error(self) -> None:
        (ack,) = parse_999(sample("imsweb_x12-parser/x12_999_rejected.txt"))
        assert ack.status is AckStatus.REJECTED and ack.transaction_sets_accepted == 0
        (transaction,) = ack.transaction_sets
        assert not transaction.accepted
        assert transaction.error_codes == ("5",)
        (error,) = transaction.segment_errors
        assert (error.segment_id, error.segment_position, error.error_code) == ("NM", 17, "1")

    def test_partially_accepted_with_element_errors_and_claim_context(self) -> None:
        (ack,) = parse_999(sample("oopfactory_x12parser/999_DHS_Wisconsin_Sample.txt"))
        assert ack.status is AckStatus.PARTIALLY_ACCEPTED
        assert [(t.control_number, t.status) for t in ack.transaction_sets] == [
            ("0001", AckStatus.ACCEPTED),
            ("002", AckStatus.REJECTED),
            ("0003", AckStatus.REJECTED),
        ]
        clm_error = ack.transaction_sets[1].segment_errors[0]
        assert (clm_error.segment_id, clm_error.segment_position, clm_error.error_code) == ("CLM", 22, "8")
        assert clm_error.claim_control_number == "123456789"
        (element,) = clm_error.element_errors
        assert (element.element_position, element.data_element_reference, element.error_code) == ("2", "782", "1")
        ref_error = ack.transaction_sets[2].segment_errors[0]
        assert (ref_error.segment_id, ref_error.error_code, ref_error.claim_control_number) == ("REF", "3", "987654321")


class Test277CASamples:
    def test_accepted_claim_with_payer_claim_number(self) -> None:
        (report,) = parse_277ca(sample("imsweb_x12-parser/x12_277CA_accepted.txt"))
        assert report.reference == "000000674"
        (receiver,) = report.receiver_statuses
        assert (str(receiver.codes[0]), receiver.amount_cents) == ("A1:20", 12500)
        (claim,) = report.claims
        assert claim.claim_control_number == "5781"
        assert claim.outcome is StatusOutcome.ACCEPTED
        assert claim.payer_claim_number == "1107000000014420"
        assert claim.statuses[0].amount_cents == 12500
        assert claim.billing_provider_id == "1234567890"
        assert report.claim("5781") is claim

    def test_rejected_claim_names_the_entity_and_reason(self) -> None:
        (report,) = parse_277ca(sample("imsweb_x12-parser/x12_277CA_rejected.txt"))
        (claim,) = report.claims
        assert claim.outcome is StatusOutcome.REJECTED
        assert [str(code) for code in claim.codes] == ["A7:562:85"]
        assert claim.bill_type == "731"
        assert claim.statuses[0].amount_cents == 19914

    def test_a_truncated_277ca_is_refused_with_its_position(self) -> None:
        with pytest.raises(X12EnvelopeError, match="truncated") as caught:
            parse_277ca(sample("oopfactory_x12parser/277_5010_FromBogeyone.txt"))
        assert caught.value.segment_id == "SE"

    def test_a_claim_status_277_is_not_a_277ca(self) -> None:
        with pytest.raises(X12VersionError, match="005010X214"):
            parse_277ca(sample("linuxforhealth_x12/claim-level-status.277"))


class TestSynthetic:
    def test_service_line_statuses_are_kept_apart_from_the_claim(self) -> None:
        body = (
            "BHT*0085*08*B1*20250314*0930*TH~HL*1**20*1~NM1*PR*2*SANDBOX PAYER*****PI*SBX01~TRN*1*B1~"
            "DTP*050*D8*20250314~DTP*009*D8*20250314~HL*2*1*21*1~NM1*41*2*CLAIMFLOW*****46*CF01~TRN*2*B1~"
            "STC*A1:19*20250314*WQ*175~HL*3*2*19*1~NM1*85*2*CLINIC*****XX*1234567893~HL*4*3*PT~"
            "NM1*QC*1*TEST*PAT~TRN*2*PCN-1~STC*A7:21*20250314*U*175~STC*A7:164:IL*20250314*U*175~"
            "DTP*472*D8*20250303~SVC*HC:99214*150*0****1~STC*A7:453*20250314*U~REF*FJ*LN-1~DTP*472*D8*20250303~"
        )
        (report,) = parse_277ca(_file("HN", "005010X214", "277", body))
        (claim,) = report.claims
        assert claim.outcome is StatusOutcome.REJECTED
        assert [str(c) for c in claim.codes] == ["A7:21", "A7:164:IL"]
        (line,) = claim.lines
        assert (line.procedure, line.charge_cents, line.line_control_number) == ("HC:99214", 15000, "LN-1")
        assert [str(s.codes[0]) for s in line.statuses] == ["A7:453"]
        assert claim.payer_claim_number is None

    def test_a_999_without_ak9_is_refused(self) -> None:
        with pytest.raises(X12SyntaxError, match="AK9"):
            parse_999(_file("FA", "005010X231A1", "999", "AK1*HC*1*005010X222A1~AK2*837*0001~IK5*A~"))

    def test_an_ak2_without_its_ik5_is_refused(self) -> None:
        with pytest.raises(X12SyntaxError, match="IK5"):
            parse_999(_file("FA", "005010X231A1", "999", "AK1*HC*1*005010X222A1~AK2*837*0001~AK9*A*1*1*1~"))

    def test_an_unknown_acknowledgment_code_is_refused(self) -> None:
        body = "AK1*HC*1*005010X222A1~AK2*837*0001~IK5*Q~AK9*A*1*1*1~"
        with pytest.raises(X12SyntaxError, match="IK501"):
            parse_999(_file("FA", "005010X231A1", "999", body))

    def test_an_835_is_not_a_999(self) -> None:
        with pytest.raises(X12VersionError, match="not a 999"):
            parse_999(_file("HP", "005010X221A1", "835", "BPR*H*0*C*NON~"))

    def test_a_wrong_se_count_is_a_warning_not_a_loss(self) -> None:
        body = "AK1*HC*1*005010X222A1~AK2*837*0001~IK5*A~AK9*A*1*1*1~"
        (ack,) = parse_999(_file("FA", "005010X231A1", "999", body, se_count=99))
        assert ack.transaction_sets[0].accepted
        assert "SE01" in ack.envelope_warnings[0]

    @pytest.mark.parametrize(
        ("category", "outcome"),
        [
            ("A1", StatusOutcome.ACCEPTED),
            ("A2", StatusOutcome.ACCEPTED),
            ("A3", StatusOutcome.REJECTED),
            ("A6", StatusOutcome.REJECTED),
            ("A7", StatusOutcome.REJECTED),
            ("A8", StatusOutcome.REJECTED),
            ("P1", StatusOutcome.PENDING),
            ("F1", StatusOutcome.FINALIZED),
            ("F2", StatusOutcome.FINALIZED),
            ("R3", StatusOutcome.REQUEST_FOR_INFORMATION),
            ("E0", StatusOutcome.ERROR),
            ("ZZ", StatusOutcome.UNKNOWN),
        ],
    )
    def test_category_outcomes(self, category: str, outcome: StatusOutcome) -> None:
        assert outcome_of(category) is outcome
