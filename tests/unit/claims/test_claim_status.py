"""276 claim status requests we write and 277 responses we read (005010X212).

pyx12 ships no 5010 276 map, so the 276 is checked against the envelope reader and the
loop layout of the public sample ../shared/x12/linuxforhealth_x12/claim-level-status.276.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.claims.domain.acknowledgments import StatusOutcome
from services.claims.domain.claim import (
    Address,
    ClaimFilingIndicator,
    Patient,
    Payer,
    Receiver,
    Relationship,
    Sex,
    Submitter,
    Subscriber,
)
from services.claims.domain.claim_status_request import ClaimStatusInquiry, parse_277, write_276
from services.claims.domain.control_numbers import ControlNumbers
from shared.x12 import X12VersionError, read_interchanges, tokenize
from tests.support.x12_samples import sample

SUBMITTER = Submitter(
    name="CLAIMFLOW BILLING", identifier="CLAIMFLOW01", contact_name="EDI", contact_phone="5555550100"
)
RECEIVER = Receiver(name="SANDBOX CLEARINGHOUSE", identifier="SANDBOXCH")
PAYER = Payer(name="SYNTHETIC HEALTH PLAN", payer_id="SYN01", claim_filing_indicator=ClaimFilingIndicator.PPO)
SUBSCRIBER = Subscriber(
    member_id="SYN900000001", last_name="TESTPERSON", first_name="ALEX", birth_date=date(1980, 5, 1), sex=Sex.FEMALE
)
CHILD = Patient(
    last_name="TESTPERSON",
    first_name="SAM",
    birth_date=date(2015, 8, 9),
    sex=Sex.MALE,
    address=Address("1 TEST ST", "TESTVILLE", "IL", "62704"),
    relationship=Relationship.CHILD,
)


def inquiry(trace: str, claim: str, **overrides: object) -> ClaimStatusInquiry:
    fields: dict = {
        "trace_number": trace,
        "claim_control_number": claim,
        "payer": PAYER,
        "provider_name": "TEST GENERAL HOSPITAL",
        "provider_npi": "1122333341",
        "subscriber": SUBSCRIBER,
        "total_charge_cents": 851388,
        "service_from": date(2025, 3, 1),
        "service_to": date(2025, 3, 6),
    }
    fields.update(overrides)
    return ClaimStatusInquiry(**fields)


def ids(segments) -> list[str]:
    return [segment.id for segment in segments]


class TestWrite276:
    def test_envelope_counts_and_control_numbers(self) -> None:
        request = write_276(
            [inquiry("TRACE1", "PCN-1", bill_type="111"), inquiry("TRACE2", "PCN-2", patient=CHILD)],
            SUBMITTER,
            RECEIVER,
            ControlNumbers(41, 42, 43),
            datetime(2025, 4, 20, 8, 5),
        )
        (interchange,) = read_interchanges(request.text)
        (group,) = interchange.groups
        (transaction,) = group.transactions
        assert (interchange.control_number, group.control_number, transaction.control_number) == (
            "000000041",
            "42",
            "0043",
        )
        assert (group.functional_id, transaction.implementation) == ("HR", "005010X212")
        assert request.trace_numbers == ("TRACE1", "TRACE2")
        assert request.next_control_numbers == ControlNumbers(42, 43, 44)
        hl = [s.elements[1:] for s in transaction.segments if s.id == "HL"]
        assert hl == [("1", "", "20", "1"), ("2", "1", "21", "1"), ("3", "2", "19", "1"), ("4", "3", "22", "0"),
                      ("5", "3", "22", "1"), ("6", "5", "23")]  # fmt: skip
        segments = {s.elements[1]: s for s in transaction.segments if s.id in ("REF", "AMT", "DTP")}
        assert segments["T3"].element(2) == "8513.88"
        assert segments["472"].element(3) == "20250301-20250306"

    def test_loop_layout_matches_the_public_sample(self) -> None:
        public = tokenize(sample("linuxforhealth_x12/claim-level-status.276"))
        start = next(i for i, s in enumerate(public) if s.id == "HL" and s.element(1) == "4")
        expected = ids(public[start : start + 9])  # HL DMG NM1 TRN REF REF AMT DTP + next HL
        ours = tokenize(
            write_276(
                [inquiry("T1", "SM123456", bill_type="111"), inquiry("T2", "J0234567", bill_type="111")],
                SUBMITTER,
                RECEIVER,
                ControlNumbers(1, 1, 1),
                datetime(2025, 4, 20, 8, 5),
            ).text
        )
        mine = next(i for i, s in enumerate(ours) if s.id == "HL" and s.element(3) == "22")
        assert ids(ours[mine : mine + 9]) == expected
        assert [s.element(1) for s in ours[mine : mine + 9] if s.id == "REF"] == ["BLT", "EJ"]

    def test_trace_numbers_must_be_unique(self) -> None:
        with pytest.raises(ValueError, match="trace number"):
            write_276(
                [inquiry("T1", "A"), inquiry("T1", "B")],
                SUBMITTER,
                RECEIVER,
                ControlNumbers(1, 1, 1),
                datetime(2025, 1, 1),
            )
        with pytest.raises(ValueError, match="at least one"):
            write_276([], SUBMITTER, RECEIVER, ControlNumbers(1, 1, 1), datetime(2025, 1, 1))


class TestParse277:
    def test_claim_level_status_sample(self) -> None:
        (report,) = parse_277(sample("linuxforhealth_x12/claim-level-status.277"))
        found = {c.trace_number: c for c in report.claims}
        assert sorted(found) == ["ABCXYC3", "ABCXYZ1", "ABCXYZ2"]
        pending, paid, denied = found["ABCXYZ1"], found["ABCXYZ2"], found["ABCXYC3"]
        assert (pending.outcome, str(pending.codes[0]), pending.claim_control_number) == (
            StatusOutcome.PENDING,
            "P3:317",
            "SM123456",
        )
        assert (paid.outcome, paid.statuses[0].amount_cents, paid.statuses[0].paid_cents) == (
            StatusOutcome.FINALIZED,
            759900,
            759900,
        )
        assert paid.payer_claim_number == "0529675341"
        assert (str(denied.codes[0]), denied.statuses[0].paid_cents) == ("F2:88:QC", 0)

    def test_many_claims_sample_with_a_bad_iea(self) -> None:
        (report,) = parse_277(sample("imsweb_x12-parser/x12_277_x212.txt"))
        assert len(report.claims) == 8
        assert all(c.outcome is StatusOutcome.ACCEPTED for c in report.claims)
        assert report.claims[0].statuses[0].message == "PAYER ACKNOWLEDGED RECEIPT OF THE CLAIM"
        assert report.envelope_warnings and "IEA02" in report.envelope_warnings[0]

    def test_a_277ca_is_not_a_claim_status_response(self) -> None:
        with pytest.raises(X12VersionError, match="005010X212"):
            parse_277(sample("imsweb_x12-parser/x12_277CA_accepted.txt"))

    def test_a_response_to_our_request_maps_back_by_trace_number(self) -> None:
        request = write_276(
            [inquiry("CF-TRACE-9", "PCN-9")], SUBMITTER, RECEIVER, ControlNumbers(5, 5, 5), datetime(2025, 4, 20)
        )
        response = (
            request.text.replace("GS*HR*", "GS*HN*")
            .replace("ST*276*", "ST*277*")
            .replace("BHT*0010*13*", "BHT*0010*08*")
            .replace("TRN*1*CF-TRACE-9~", "TRN*2*CF-TRACE-9~\nSTC*F1:65*20250418**8513.88*6000~")
        )
        count = sum(1 for line in response.split("~\n") if line and not line.startswith(("ISA", "GS", "GE", "IEA")))
        se = next(line for line in response.split("~\n") if line.startswith("SE*"))
        response = response.replace(se, f"SE*{count}*{se.split('*')[2]}")
        (report,) = parse_277(response)
        (claim,) = report.claims
        assert (claim.trace_number, claim.claim_control_number, claim.outcome) == (
            "CF-TRACE-9",
            "PCN-9",
            StatusOutcome.FINALIZED,
        )
        assert claim.statuses[0].paid_cents == 600000  # STC05 6000 dollars
        assert report.envelope_warnings == ()
