"""The sandbox's 999, 277CA and 835: pyx12-clean, read back by our own parsers, 835s balanced."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from sandbox.claims_837 import UnreadableFileError
from sandbox.clearinghouse import Answer, SandboxClearinghouse
from services.claims.domain.acknowledgments import AckStatus, StatusOutcome, parse_277ca, parse_999
from services.remittance.domain.balancing import balance_report
from services.remittance.domain.x12_835 import parse_835
from shared.npi import npi_is_valid
from shared.x12.pyx12_validation import validate_with_pyx12
from tests.support.sandbox_837 import CHILD, CLINIC, RECEIVED_AT, SUBSCRIBER, institutional, line, professional, x12_837


def answer(content: bytes) -> dict[str, bytes]:
    answers = SandboxClearinghouse().answer("batch-1.x12", content, RECEIVED_AT)
    return {a.file_name.split(".", 1)[1]: a.content for a in answers}


def pyx12_clean(answers: dict[str, bytes]) -> None:
    for name, content in answers.items():
        assert [str(issue) for issue in validate_with_pyx12(content)] == [], name


@pytest.fixture(scope="module")
def mixed_batch() -> dict[str, bytes]:
    """One 837 with professional (subscriber and dependent) and institutional claims, good and bad."""
    claims = [
        professional("PCN-1-PAID"),
        professional("PCN-2-COINS", patient=CHILD),
        professional("PCN-3-D50"),
        professional("PCN-4-D16"),
        professional("PCN-5", subscriber=replace(SUBSCRIBER, member_id="BAD-ID")),
        professional("PCN-6", billing_provider=replace(CLINIC, npi="1500000009", name="OTHER CLINIC")),
        institutional("ICN-1-PART"),
    ]
    # The 837 writer refuses a bad check digit, so break the NPI in the text, as a faulty sender would.
    return answer(x12_837(*claims).replace(b"XX*1500000009", b"XX*1500000000"))


class TestAcceptedBatch:
    def test_every_answer_validates_in_pyx12(self, mixed_batch: dict[str, bytes]) -> None:
        assert sorted(mixed_batch) == ["1-ack.999", "2-7001-7001.277CA", "2-7002-7002.277CA", "3-SYN01.835"]
        pyx12_clean(mixed_batch)

    def test_the_999_accepts_both_transaction_sets(self, mixed_batch: dict[str, bytes]) -> None:
        acks = parse_999(mixed_batch["1-ack.999"])
        assert [(a.group_control_number, a.status) for a in acks] == [
            ("7001", AckStatus.ACCEPTED),
            ("7002", AckStatus.ACCEPTED),
        ]
        assert all(t.accepted and not t.segment_errors for a in acks for t in a.transaction_sets)

    def test_the_277ca_accepts_good_claims_and_rejects_bad_ones_with_reasons(
        self, mixed_batch: dict[str, bytes]
    ) -> None:
        (report,) = parse_277ca(mixed_batch["2-7001-7001.277CA"])
        outcomes = {c.claim_control_number: (c.outcome, [str(code) for code in c.codes]) for c in report.claims}
        assert outcomes == {
            "PCN-1-PAID": (StatusOutcome.ACCEPTED, ["A2:20"]),
            "PCN-2-COINS": (StatusOutcome.ACCEPTED, ["A2:20"]),
            "PCN-3-D50": (StatusOutcome.ACCEPTED, ["A2:20"]),
            "PCN-4-D16": (StatusOutcome.ACCEPTED, ["A2:20"]),
            "PCN-5": (StatusOutcome.REJECTED, ["A7:164:IL"]),
            "PCN-6": (StatusOutcome.REJECTED, ["A7:562:85"]),
        }
        assert report.claim("PCN-1-PAID").payer_claim_number.startswith("SBX")
        assert report.claim("PCN-5").payer_claim_number is None
        (institutional_report,) = parse_277ca(mixed_batch["2-7002-7002.277CA"])
        (claim,) = institutional_report.claims
        assert (claim.claim_control_number, claim.bill_type, claim.outcome) == ("ICN-1-PART", "131", "accepted")

    def test_the_835_pays_accepted_claims_by_the_rules_and_balances(self, mixed_batch: dict[str, bytes]) -> None:
        advices = parse_835(mixed_batch["3-SYN01.835"])
        assert balance_report(advices) == []
        claims = {c.patient_control_number: c for advice in advices for c in advice.claims}
        assert sorted(claims) == ["ICN-1-PART", "PCN-1-PAID", "PCN-2-COINS", "PCN-3-D50", "PCN-4-D16"]
        assert (claims["PCN-1-PAID"].charge_cents, claims["PCN-1-PAID"].paid_cents) == (15000, 15000)
        coinsurance = claims["PCN-2-COINS"]
        assert coinsurance.paid_cents == 9600 and coinsurance.patient_responsibility_cents == 2400
        assert [(a.group, a.reason, a.amount_cents) for a in coinsurance.all_adjustments] == [
            ("CO", "45", 2000),
            ("PR", "2", 1600),
            ("CO", "45", 1000),
            ("PR", "2", 800),
        ]
        denied = claims["PCN-3-D50"]
        assert (denied.status, denied.paid_cents) == ("4", 0)
        assert {(a.group, a.reason) for a in denied.all_adjustments} == {("CO", "50")}
        assert [r.code for line in denied.lines for r in line.remarks] == ["N115", "N115"]
        # 1200.00 + 300.00 at 60%: 720.00 - 10.00 deductible - 20% = 568.00, and 180.00 - 20% = 144.00
        assert claims["ICN-1-PART"].paid_cents == 71200

    def test_payment_total_is_the_sum_of_claim_payments(self, mixed_batch: dict[str, bytes]) -> None:
        advices = parse_835(mixed_batch["3-SYN01.835"])
        # Clinic and hospital are separate payees: one 835 transaction (and one EFT) each.
        assert [a.payment.amount_cents for a in advices] == [15000 + 9600, 71200]
        assert len({a.trace.trace_number for a in advices}) == 2


class TestRejectedTransactions:
    def test_a_bad_amount_and_a_bad_date_are_located_by_ik3_ik4(self) -> None:
        text = x12_837(professional("PCN-9")).decode()
        text = text.replace("CLM*PCN-9*150*", "CLM*PCN-9*15O*", 1).replace(
            "DTP*472*D8*20250303", "DTP*472*D8*20251303", 1
        )
        answers = answer(text.encode())
        assert list(answers) == ["1-ack.999"]  # nothing else for a rejected transaction set
        pyx12_clean(answers)
        (ack,) = parse_999(answers["1-ack.999"])
        assert ack.status is AckStatus.REJECTED
        (transaction,) = ack.transaction_sets
        assert transaction.error_codes == ("5",)
        errors = [
            (
                e.segment_id,
                e.loop_id,
                e.claim_control_number,
                [(i.element_position, i.error_code, i.bad_value) for i in e.element_errors],
            )
            for e in transaction.segment_errors
        ]
        assert errors == [
            ("CLM", "2300", "PCN-9", [("2", "6", "15O")]),
            ("DTP", "2400", "PCN-9", [("3", "8", "20251303")]),
        ]
        lines = text.split("~\n") if "~\n" in text else text.split("~")
        clm_position = next(i for i, s in enumerate(lines) if s.startswith("CLM")) - 2 + 1  # ST is 1
        assert transaction.segment_errors[0].segment_position == clm_position

    def test_a_wrong_segment_count_rejects_the_transaction_set(self) -> None:
        text = x12_837(professional("PCN-10")).decode()
        se = text[text.index("~SE*") + 1 :].split("~")[0]
        count = int(se.split("*")[1])
        answers = answer(text.replace(se, f"SE*{count + 1}*{se.split('*')[2]}").encode())
        pyx12_clean(answers)
        (ack,) = parse_999(answers["1-ack.999"])
        assert ack.transaction_sets[0].error_codes == ("4",)
        assert ack.transaction_sets_accepted == 0

    def test_a_wrong_group_count_rejects_the_group(self) -> None:
        text = x12_837(professional("PCN-13")).decode().replace("~GE*1*", "~GE*2*")
        answers = answer(text.encode())
        assert list(answers) == ["1-ack.999"]
        pyx12_clean(answers)
        (ack,) = parse_999(answers["1-ack.999"])
        assert (ack.status, ack.error_codes) == (AckStatus.REJECTED, ("5",))

    def test_out_of_balance_and_future_dates_are_277ca_rejections(self) -> None:
        future = professional("PCN-11", line(1000, service_date=date(2025, 4, 1)))
        unbalanced = professional("PCN-12", line(1000), total_charge_cents=1000)
        text = x12_837(future, unbalanced).decode().replace("CLM*PCN-12*10*", "CLM*PCN-12*11*")
        answers = answer(text.encode())
        pyx12_clean(answers)
        (report,) = parse_277ca(answers["2-7001-7001.277CA"])
        assert {c.claim_control_number: [str(x) for x in c.codes] for c in report.claims} == {
            "PCN-11": ["A7:187"],
            "PCN-12": ["A7:400"],
        }
        assert "3-SYN01.835" not in answers

    def test_a_file_without_an_envelope_cannot_be_answered(self) -> None:
        with pytest.raises(UnreadableFileError, match="ISA"):
            SandboxClearinghouse().answer("junk.x12", b"HELLO*WORLD~", RECEIVED_AT)


def test_control_numbers_advance_across_files() -> None:
    sandbox = SandboxClearinghouse(next_control_number=41)
    first = sandbox.answer("a.x12", x12_837(professional("PCN-20")), RECEIVED_AT)
    second = sandbox.answer("b.x12", x12_837(professional("PCN-21")), RECEIVED_AT)
    isa13 = [a.content.decode()[90:99] for a in (*first, *second) if isinstance(a, Answer)]
    assert isa13 == [f"{n:09d}" for n in range(41, 47)]
    assert sandbox.state == {"next_control_number": 47, "next_claim_number": 3}


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893") and not npi_is_valid("1234567890") and not npi_is_valid("12345")
