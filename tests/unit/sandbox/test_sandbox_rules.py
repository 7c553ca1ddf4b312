"""The sandbox payer's adjudication table: one test per outcome, integer cents, always balanced."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sandbox.claims_837 import ReceivedClaim, ReceivedLine
from sandbox.rules import DEFAULT_RULES, AdjudicationRule, ClaimAdjudication, Match, Outcome, adjudicate, load_rules

RECEIVED = date(2025, 3, 20)
SERVED = date(2025, 3, 3)


def claim(control_number: str, *charges: int, code: str = "99213", prior_auth: str | None = None) -> ReceivedClaim:
    received = ReceivedClaim(
        control_number=control_number,
        charge_cents=sum(charges),
        kind="837P",
        facility_code="11",
        frequency="1",
        responsibility="P",
        filing_indicator="12",
        billing_provider_name="TEST CLINIC",
        billing_provider_npi="1234567893",
        billing_provider_tax_id="123456789",
        subscriber_last_name="TESTPERSON",
        subscriber_first_name="ALEX",
        member_id="SYN900000001",
        payer_name="SYNTHETIC HEALTH PLAN",
        payer_id="SYN01",
        prior_authorization=prior_auth,
    )
    received.lines = [
        ReceivedLine(number=i, charge_cents=c, units="1", procedure_code=code, service_date=SERVED)
        for i, c in enumerate(charges, 1)
    ]
    return received


def cas(result: ClaimAdjudication) -> list[list[tuple[str, str, int]]]:
    return [[(a.group, a.reason, a.amount_cents) for a in line.adjustments] for line in result.lines]


def assert_balanced(result: ClaimAdjudication) -> None:
    for line in result.lines:
        assert line.line.charge_cents - line.paid_cents == sum(a.amount_cents for a in line.adjustments)


class TestDefaultTable:
    def test_paid_in_full(self) -> None:
        result = adjudicate(claim("C1-PAID", 10000, 5000), RECEIVED)
        assert (result.paid_cents, cas(result), result.status_code) == (15000, [[], []], "1")
        assert [line.rule for line in result.lines] == ["paid-in-full", "paid-in-full"]

    def test_contractual_adjustment_by_default(self) -> None:
        result = adjudicate(claim("C2", 10001), RECEIVED)
        # 80% of 100.01 rounds down to 80.00; the payer writes off the rest as CO-45.
        assert (result.paid_cents, cas(result)) == (8000, [[("CO", "45", 2001)]])
        assert result.lines[0].allowed_cents == 8000

    def test_deductible_is_taken_once_per_claim_across_lines(self) -> None:
        result = adjudicate(claim("C3-DED", 5000, 10000), RECEIVED)
        assert cas(result) == [[("CO", "45", 1000), ("PR", "1", 4000)], [("CO", "45", 2000), ("PR", "1", 1000)]]
        assert (result.paid_cents, result.patient_responsibility_cents) == (7000, 5000)

    def test_coinsurance(self) -> None:
        result = adjudicate(claim("C4-COINS", 10000), RECEIVED)
        assert cas(result) == [[("CO", "45", 2000), ("PR", "2", 1600)]]
        assert result.paid_cents == 6400

    def test_copay_once_per_claim(self) -> None:
        result = adjudicate(claim("C5-COPAY", 10000, 10000), RECEIVED)
        assert cas(result) == [[("CO", "45", 2000), ("PR", "3", 2500)], [("CO", "45", 2000)]]
        assert result.patient_responsibility_cents == 2500

    def test_partial_payment_combines_contractual_deductible_and_coinsurance(self) -> None:
        result = adjudicate(claim("C6-PART", 10000), RECEIVED)
        # allowed 60.00; deductible 10.00; coinsurance 20% of 50.00 = 10.00; paid 40.00
        assert cas(result) == [[("CO", "45", 4000), ("PR", "1", 1000), ("PR", "2", 1000)]]
        assert result.paid_cents == 4000

    @pytest.mark.parametrize(
        ("suffix", "group", "carc", "remarks", "claim_remarks"),
        [
            ("-D50", "CO", "50", ("N115",), ()),
            ("-D97", "CO", "97", ("M15",), ()),
            ("-D16", "CO", "16", (), ("MA130",)),
            ("-D204", "PR", "204", ("N130",), ()),
        ],
    )
    def test_denials_carry_their_carc_and_rarc(
        self, suffix: str, group: str, carc: str, remarks: tuple, claim_remarks: tuple
    ) -> None:
        result = adjudicate(claim(f"C7{suffix}", 12345), RECEIVED)
        assert cas(result) == [[(group, carc, 12345)]]
        assert result.lines[0].remarks == remarks
        assert result.claim_remarks == claim_remarks
        assert result.paid_cents == 0
        assert result.status_code == ("1" if group == "PR" else "4")

    def test_prior_authorization_absent_denies_only_without_ref_g1(self) -> None:
        denied = adjudicate(claim("C8", 90000, code="70553"), RECEIVED)
        assert cas(denied) == [[("CO", "197", 90000)]] and denied.lines[0].remarks == ("M62",)
        allowed = adjudicate(claim("C8", 90000, code="70553", prior_auth="AUTH1"), RECEIVED)
        assert allowed.lines[0].rule == "contracted"

    def test_timely_filing(self) -> None:
        result = adjudicate(claim("C9-PAID", 10000), date(2026, 3, 5))
        assert cas(result) == [[("CO", "29", 10000)]]

    def test_high_charges_are_capped(self) -> None:
        result = adjudicate(claim("C10", 600000), RECEIVED)
        assert cas(result) == [[("CO", "45", 350000)]] and result.paid_cents == 250000

    def test_secondary_claims_are_processed_as_secondary(self) -> None:
        received = claim("C11", 10000)
        received.responsibility = "S"
        assert adjudicate(received, RECEIVED).status_code == "2"

    def test_every_rule_balances(self) -> None:
        for suffix in ("-PAID", "-DED", "-COINS", "-COPAY", "-PART", "-D50", "-D97", "-D16", "-D204", ""):
            for charges in ((1,), (333, 7777), (99999, 1, 250)):
                assert_balanced(adjudicate(claim(f"B{suffix}", *charges), RECEIVED))

    def test_the_table_ends_with_a_catch_all(self) -> None:
        assert DEFAULT_RULES[-1].name == "contracted"


class TestRulesFile:
    def test_a_json_table_replaces_the_default(self, tmp_path: Path) -> None:
        path = tmp_path / "rules.json"
        path.write_text(
            json.dumps(
                [
                    {"name": "lab-paid", "match": {"procedure_codes": ["81002"]}, "outcome": {}},
                    {"name": "deny", "match": {}, "outcome": {"denial": ["CO", "50"], "remarks": ["N115"]}},
                ]
            )
        )
        rules = load_rules(path)
        assert cas(adjudicate(claim("X", 500, code="81002"), RECEIVED, rules)) == [[]]
        assert cas(adjudicate(claim("X", 500), RECEIVED, rules)) == [[("CO", "50", 500)]]

    def test_unknown_keys_are_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "rules.json"
        path.write_text(json.dumps([{"name": "x", "match": {"procedure": "1"}, "outcome": {}}]))
        with pytest.raises(ValueError, match="unknown keys"):
            load_rules(path)

    def test_money_must_be_integer_cents(self, tmp_path: Path) -> None:
        path = tmp_path / "rules.json"
        path.write_text(json.dumps([{"name": "x", "match": {}, "outcome": {"copay_cents": 25.5}}]))
        with pytest.raises(ValueError, match="integer"):
            load_rules(path)

    def test_no_matching_rule_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "rules.json"
        path.write_text(json.dumps([{"name": "lab", "match": {"procedure_codes": ["81002"]}, "outcome": {}}]))
        rules = load_rules(path)
        with pytest.raises(ValueError, match="no adjudication rule"):
            adjudicate(claim("X", 500), RECEIVED, rules)


def test_a_rule_for_originals_lets_the_corrected_claim_through_to_be_paid() -> None:
    deny_originals = AdjudicationRule(
        "deny-99214",
        Match(procedure_codes=frozenset({"99214"}), frequency_codes=frozenset({"1"})),
        Outcome(denial=("CO", "16"), claim_remarks=("MA130",)),
        "Missing information",
    )
    rules = (deny_originals, *DEFAULT_RULES)
    original = claim("C9", 20000, code="99214")
    denied = adjudicate(original, RECEIVED, rules)
    assert [line.rule for line in denied.lines] == ["deny-99214"] and denied.paid_cents == 0
    original.frequency, original.original_claim_number = "7", "SBX1"
    paid = adjudicate(original, RECEIVED, rules)
    assert [line.rule for line in paid.lines] == ["corrected-claim-paid"] and paid.paid_cents == 16000


def test_appeals_follow_the_documented_table() -> None:
    from sandbox.appeals import answer_appeal, appeal_of

    assert appeal_of("APPEAL-CF0000000002-L2-0123456789ab.pdf") == ("CF0000000002", 2)
    assert appeal_of("837-000000001.x12") is None and appeal_of("APPEAL-../x-L1-abcdef.pdf") is None
    necessity = claim("C-D50", 25000)
    denied = adjudicate(necessity, RECEIVED)
    assert cas(denied) == [[("CO", "50", 25000)]]
    assert answer_appeal(necessity, denied, 1, RECEIVED) is denied, "level 1: upheld"
    paid = answer_appeal(necessity, denied, 2, RECEIVED)
    assert paid.paid_cents == 20000 and cas(paid) == [[("CO", "45", 5000)]]
    late = claim("C-LATE", 10000)
    late.lines[0].service_date = date(2023, 1, 2)
    filed_late = adjudicate(late, RECEIVED)
    assert cas(filed_late) == [[("CO", "29", 10000)]]
    assert answer_appeal(late, filed_late, 3, RECEIVED) is filed_late, "timely filing: upheld at every level"
