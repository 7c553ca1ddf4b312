"""Same-file reversals and PLB claim references, read from the synthetic fixture 835s."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import pytest

from services.remittance.domain.balancing import balance_report
from services.remittance.domain.posting import ClaimPaymentFacts, read_claim_payments
from services.remittance.domain.reversals import (
    StoredPayment,
    claim_recoupment_cents,
    plb_claim_reference,
    same_file_originals,
    stored_original,
)
from services.remittance.domain.x12_835 import parse_835

FIXTURES = Path(__file__).parents[2] / "fixtures" / "remittance"
TODAY = dt.date(2026, 2, 1)


def _facts(name: str) -> list[ClaimPaymentFacts]:
    return read_claim_payments(parse_835((FIXTURES / name).read_bytes()), today=TODAY)


def _claims(facts: list[ClaimPaymentFacts], known: set[str]) -> list[tuple[uuid.UUID | None, ClaimPaymentFacts]]:
    ids = {number: uuid.uuid5(uuid.NAMESPACE_OID, number) for number in known}
    return [(ids.get(f.key.claim_control_number), f) for f in facts]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.835")))
def test_every_fixture_parses_and_balances(name: str) -> None:
    assert balance_report(parse_835((FIXTURES / name).read_bytes())) == []


def test_a_reversal_undoes_the_payment_before_it_in_the_file_and_a_repayment_stands() -> None:
    facts = _facts("same_file_reverse_repay.835")
    assert [(f.key.claim_control_number, f.key.status_code) for f in facts] == [
        ("CF-REVREPAY-1", "1"),
        ("CF-REVREPAY-1", "22"),
        ("CF-REVREPAY-1", "1"),
        ("CF-REVREPAY-2", "22"),
        ("CF-REVREPAY-2", "1"),
    ]
    originals = same_file_originals(_claims(facts, {"CF-REVREPAY-1", "CF-REVREPAY-2"}))
    # the first claim's reversal takes the payment before it; the second's original is in an earlier file
    assert originals == {1: 0}


def test_reversals_take_distinct_originals_latest_first_and_respect_the_payer_claim_number() -> None:
    pay_a, reverse_a, pay_b = _facts("same_file_reverse_repay.835")[:3]
    claim = uuid.uuid4()
    # reversals naming ICN-0001 (CLP07): only pay_a qualifies, and only once
    assert same_file_originals([(claim, pay_a), (claim, pay_b), (claim, reverse_a), (claim, reverse_a)]) == {2: 0}
    # reversals naming no payer claim number: the latest payment not yet reversed, then the one before it
    unnamed = dataclasses.replace(reverse_a, payer_claim_control_number="")
    assert same_file_originals([(claim, pay_a), (claim, pay_b), (claim, unnamed), (claim, unnamed)]) == {2: 1, 3: 0}
    # another claim's payment, an unmatched reversal and a reversal before its payment reverse nothing here
    assert same_file_originals([(uuid.uuid4(), pay_a), (claim, reverse_a)]) == {}
    assert same_file_originals([(claim, pay_a), (None, reverse_a)]) == {}
    assert same_file_originals([(claim, reverse_a), (claim, pay_a)]) == {}


def test_plb_references_and_which_reasons_take_money_back_from_a_claim() -> None:
    (advice,) = parse_835((FIXTURES / "plb_recoupment.835").read_bytes())
    recoupment, interest = advice.provider_adjustments
    assert (recoupment.reason, recoupment.reference, recoupment.amount_cents) == ("WO", "ICN-RC-1", 5000)
    assert plb_claim_reference(recoupment.reference) == "ICN-RC-1"
    assert claim_recoupment_cents(recoupment.reason, recoupment.amount_cents) == 5000
    assert claim_recoupment_cents(interest.reason, interest.amount_cents) == 0
    assert claim_recoupment_cents("72", -700) == -700
    assert claim_recoupment_cents("FB", -700) == 0, "a forward balance only carries the debt a reversal left"
    assert plb_claim_reference("  ") is None


def test_a_reversal_with_a_payer_claim_number_of_its_own_takes_back_the_payment_it_negates() -> None:
    pay_a, reverse_a, pay_b = _facts("same_file_reverse_repay.835")[:3]
    renumbered = dataclasses.replace(reverse_a, payer_claim_control_number="ICN-REVERSAL-9")
    claim = uuid.uuid4()
    # pay_b (the latest) is not the negation of the reversal's amounts; pay_a is
    assert same_file_originals([(claim, pay_a), (claim, pay_b), (claim, renumbered)]) == {2: 0}
    assert same_file_originals([(claim, pay_b), (claim, renumbered)]) == {}


def test_a_reversal_of_an_earlier_file_takes_the_latest_stored_payment_it_names_else_the_one_it_negates() -> None:
    pay_a, reverse_a, _ = _facts("same_file_reverse_repay.835")[:3]
    claim, at = uuid.uuid4(), dt.datetime(2026, 1, 5, tzinfo=dt.UTC)

    def stored(clp07: str, charge: int, paid: int, hours: int) -> StoredPayment:
        return StoredPayment(uuid.uuid4(), claim, clp07, charge, paid, at - dt.timedelta(hours=hours))

    named = stored(reverse_a.payer_claim_control_number, 1, 1, hours=2)
    newer_other = stored("ICN-OTHER", -reverse_a.charge_cents, -reverse_a.paid_cents, hours=1)
    latest_first = [newer_other, named]
    # named by CLP07: that one, even when a later payment has other numbers
    assert stored_original(latest_first, reverse_a) == named.id
    # taken by an earlier reversal of the file: the one it exactly negates instead
    assert stored_original(latest_first, reverse_a, excluding={named.id}) == newer_other.id
    assert stored_original(latest_first, reverse_a, excluding={named.id, newer_other.id}) is None
    # naming no CLP07: the latest one, whatever its amounts
    unnamed = dataclasses.replace(reverse_a, payer_claim_control_number="")
    assert stored_original(latest_first, unnamed) == newer_other.id
    assert stored_original([], unnamed) is None
    assert pay_a.payer_claim_control_number == reverse_a.payer_claim_control_number
