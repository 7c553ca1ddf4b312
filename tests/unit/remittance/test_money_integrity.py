"""Money integrity rules without servers: duplicate payments, COB netting across payers, credit
balances, hand-match checks, dates and currencies, suspense cursors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable

import pytest
from fastapi import HTTPException

from services.remittance import paging
from services.remittance.domain.money_integrity import (
    CobClaim,
    PostedPayment,
    cob_netting_entries,
    currency_problem,
    date_problem,
    is_later_payer,
    match_findings,
    probable_duplicate_of,
    refund_entry,
    standing_after,
)
from services.remittance.domain.posting import (
    ClaimBalance,
    ClaimPaymentFacts,
    EntryDraft,
    PaidLine,
    PaymentKey,
    PostedAdjustment,
    SubmittedClaim,
    charge_entry,
    claim_balance,
    payment_entries,
)
from services.remittance.integrity import refuse_foreign_currency
from services.remittance.repository import NewClaimPayment

PATIENT = uuid.UUID("00000000-0000-4000-8000-00000000000a")
TODAY = dt.date(2026, 11, 29)


def _facts(
    ccn: str,
    *,
    status: str = "1",
    trace: str = "TRN-1",
    charge: int = 15500,
    paid: int,
    adjustments: tuple[tuple[str, str, int], ...],
    payer_claim_number: str = "PCN-1",
) -> ClaimPaymentFacts:
    assert charge - paid == sum(amount for _, _, amount in adjustments), "an 835 claim balances"
    return ClaimPaymentFacts(
        key=PaymentKey("1999999999", trace, ccn, status, 1),
        charge_cents=charge,
        paid_cents=paid,
        patient_responsibility_cents=sum(amount for group, _, amount in adjustments if group == "PR"),
        adjustments=tuple(PostedAdjustment(group, carc, amount, 0) for group, carc, amount in adjustments),
        lines=(PaidLine(1, "99213", (), charge, paid, ()),),
        remark_codes=(),
        payer_claim_control_number=payer_claim_number,
        paid_date=TODAY,
        next_responsible="patient",
        position=1,
    )


def _posted(facts: ClaimPaymentFacts, claim_id: uuid.UUID, *, reversed: bool = False) -> PostedPayment:
    return PostedPayment(
        uuid.uuid4(),
        claim_id,
        facts.key.status_code,
        facts.payer_claim_control_number,
        facts.charge_cents,
        facts.paid_cents,
        facts.patient_responsibility_cents,
        reversed,
    )


# ----------------------------------------------------------------------------- duplicates


def test_the_same_claim_payment_under_another_trace_number_is_a_probable_duplicate() -> None:
    claim_id = uuid.uuid4()
    first = _facts("CF1", paid=11000, adjustments=(("CO", "45", 1500), ("PR", "2", 3000)))
    posted = _posted(first, claim_id)
    again = _facts("CF1", trace="TRN-CHANGED", paid=11000, adjustments=(("CO", "45", 1500), ("PR", "2", 3000)))
    assert probable_duplicate_of(again, [posted]) == posted.id


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"paid": 10000, "adjustments": (("CO", "45", 2500), ("PR", "2", 3000))}, "another paid amount"),
        ({"payer_claim_number": "PCN-2", "paid": 11000}, "another payer claim control number"),
        ({"status": "2", "paid": 11000}, "another claim status (a secondary payer)"),
    ],
)
def test_a_payment_that_differs_is_not_a_duplicate(change: dict[str, object], why: str) -> None:
    claim_id = uuid.uuid4()
    first = _facts("CF1", paid=11000, adjustments=(("CO", "45", 1500), ("PR", "2", 3000)))
    arguments: dict[str, object] = {"adjustments": (("CO", "45", 1500), ("PR", "2", 3000))} | change
    other = _facts("CF1", trace="TRN-2", **arguments)  # type: ignore[arg-type]  # test parameters
    assert probable_duplicate_of(other, [_posted(first, claim_id)]) is None, why


def test_a_reversed_payment_paid_again_is_not_a_duplicate_and_a_reversal_never_is() -> None:
    claim_id = uuid.uuid4()
    first = _facts("CF1", paid=11000, adjustments=(("CO", "45", 1500), ("PR", "2", 3000)))
    assert probable_duplicate_of(first, [_posted(first, claim_id, reversed=True)]) is None
    reversal = _facts("CF1", status="22", charge=-15500, paid=-11000, adjustments=(("CO", "45", -4500),))
    assert probable_duplicate_of(reversal, [_posted(reversal, claim_id)]) is None


# ----------------------------------------------------------------------------- COB netting


class Ledger:
    """An in-memory ledger of entry drafts: balances per account as the database sums them."""

    def __init__(self) -> None:
        self.entries: list[EntryDraft] = []

    def post(self, entries: Iterable[EntryDraft]) -> None:
        self.entries.extend(entries)

    def claim(self, claim_id: uuid.UUID) -> ClaimBalance:
        return claim_balance((e.kind, e.amount_cents) for e in self.entries if e.account_id == str(claim_id))

    def patient_balance(self) -> int:
        return sum(e.amount_cents for e in self.entries if e.account_type == "patient")

    def standing(self, claim_id: uuid.UUID) -> int:
        account = str(claim_id)
        return -sum(
            e.amount_cents for e in self.entries if e.account_id == account and e.kind == "patient_responsibility"
        )


def _pay(ledger: Ledger, facts: ClaimPaymentFacts, claim_id: uuid.UUID, chain: list[CobClaim]) -> uuid.UUID:
    payment_id = uuid.uuid4()
    ledger.post(payment_entries(facts, payment_id=payment_id, claim_id=claim_id, patient_id=PATIENT))
    ledger.post(cob_netting_entries(facts, payment_id=payment_id, claim_id=claim_id, patient_id=PATIENT, chain=chain))
    return payment_id


def _identity_holds(ledger: Ledger, *claim_ids: uuid.UUID) -> None:
    claims_patient_share = 0
    for claim_id in claim_ids:
        balance = ledger.claim(claim_id)
        assert balance.balanced and balance.open_cents == 0, balance
        claims_patient_share += balance.patient_responsibility_cents
    assert ledger.patient_balance() == claims_patient_share, "the patient owes what the claims say, once"


def test_primary_then_secondary_claim_then_tertiary_crossover_leave_the_patient_what_the_last_payer_leaves() -> None:
    ledger = Ledger()
    primary, secondary = uuid.uuid4(), uuid.uuid4()
    ledger.post([charge_entry(primary, 15500), charge_entry(secondary, 15500)])
    # primary: allowed 12,000, pays 9,000, the patient 3,000 (deductible 1,000 + coinsurance 2,000)
    _pay(
        ledger,
        _facts("P1", paid=9000, adjustments=(("CO", "45", 3500), ("PR", "1", 1000), ("PR", "2", 2000))),
        primary,
        [],
    )
    assert ledger.patient_balance() == 3000
    # secondary (its own claim of the same encounter): pays 2,200 of the 3,000, leaves 800
    secondary_facts = _facts(
        "S1", status="2", paid=2200, adjustments=(("OA", "23", 12500), ("PR", "2", 800)), payer_claim_number="S-PCN"
    )
    assert is_later_payer(secondary_facts)
    chain = [CobClaim(primary, ledger.standing(primary), True), CobClaim(secondary, 0, False)]
    _pay(ledger, secondary_facts, secondary, chain)
    assert ledger.patient_balance() == 800
    _identity_holds(ledger, primary, secondary)
    # tertiary, crossed over on the secondary's claim: restates the earlier payers (CAS 23) and pays 500
    tertiary_facts = _facts(
        "S1", status="3", paid=500, adjustments=(("OA", "23", 14700), ("PR", "2", 300)), payer_claim_number="T-PCN"
    )
    chain = [CobClaim(primary, ledger.standing(primary), True), CobClaim(secondary, ledger.standing(secondary), True)]
    _pay(ledger, tertiary_facts, secondary, chain)
    assert ledger.patient_balance() == 300, "the tertiary's patient responsibility, never counted twice"
    _identity_holds(ledger, primary, secondary)
    paid = ledger.claim(primary).paid_cents + ledger.claim(secondary).paid_cents
    assert paid == 9000 + 2200 + 500


def test_a_crossover_secondary_on_the_primary_claim_nets_instead_of_posting_the_charge_twice() -> None:
    ledger = Ledger()
    claim = uuid.uuid4()
    ledger.post([charge_entry(claim, 15500)])
    _pay(ledger, _facts("C1", paid=9000, adjustments=(("CO", "45", 3500), ("PR", "2", 3000))), claim, [])
    crossover = _facts(
        "C1", status="2", paid=3000, adjustments=(("OA", "23", 12500),), trace="TRN-SECONDARY", payer_claim_number="X"
    )
    _pay(ledger, crossover, claim, [CobClaim(claim, ledger.standing(claim), True)])
    balance = ledger.claim(claim)
    assert (balance.paid_cents, balance.patient_responsibility_cents, balance.open_cents) == (12000, 0, 0)
    assert balance.balanced and ledger.patient_balance() == 0


def test_a_secondary_paying_beyond_what_was_left_shows_a_credit_balance_not_balanced() -> None:
    ledger = Ledger()
    claim = uuid.uuid4()
    ledger.post([charge_entry(claim, 15500)])
    _pay(ledger, _facts("C1", paid=9000, adjustments=(("CO", "45", 3500), ("PR", "2", 3000))), claim, [])
    # the secondary restates less than the primary adjudicated, and pays 5,000 of the 3,000 left
    overpaid = _facts("C1", status="2", paid=5000, adjustments=(("OA", "23", 10500),), payer_claim_number="X")
    _pay(ledger, overpaid, claim, [CobClaim(claim, ledger.standing(claim), True)])
    balance = ledger.claim(claim)
    assert balance.open_cents == -2000 and balance.credit_balance_cents == 2000
    assert not balance.balanced, "the identity holds, but a negative open balance is not balanced"
    ledger.post([refund_entry(claim, uuid.uuid4(), balance.credit_balance_cents)])
    assert ledger.claim(claim).balanced and ledger.claim(claim).open_cents == 0


def test_a_primary_payment_a_denial_and_a_reversal_never_net() -> None:
    claim = uuid.uuid4()
    chain = [CobClaim(claim, 3000, True)]
    for status in ("1", "4", "22", "19"):
        facts = _facts("C1", status=status, paid=0, adjustments=(("CO", "45", 15500),))
        assert (
            cob_netting_entries(facts, payment_id=uuid.uuid4(), claim_id=claim, patient_id=PATIENT, chain=chain) == []
        )


def test_standing_counts_what_the_same_file_posted_before() -> None:
    primary = uuid.uuid4()
    earlier = payment_entries(
        _facts("P1", paid=9000, adjustments=(("CO", "45", 3500), ("PR", "2", 3000))),
        payment_id=uuid.uuid4(),
        claim_id=primary,
        patient_id=PATIENT,
    )
    (after,) = standing_after([CobClaim(primary, 0, False)], earlier, paid_claim_id=primary)
    assert after == CobClaim(primary, 3000, True)


def test_netting_entries_have_unique_source_keys_and_sum_to_zero_across_accounts_of_a_transfer() -> None:
    primary, secondary = uuid.uuid4(), uuid.uuid4()
    facts = _facts("S1", status="2", paid=2000, adjustments=(("OA", "23", 12500), ("PR", "2", 1000)))
    entries = cob_netting_entries(
        facts,
        payment_id=uuid.uuid4(),
        claim_id=secondary,
        patient_id=PATIENT,
        chain=[CobClaim(primary, 3000, True), CobClaim(secondary, 0, False)],
    )
    assert len({entry.source_key for entry in entries}) == len(entries)
    by_account = Counter[str]()
    for entry in entries:
        by_account[entry.account_type] += entry.amount_cents
    assert by_account == {"claim": 0, "patient": -3000}


# ----------------------------------------------------------------------------- hand matches, dates, currency


def _claim(charge: int = 13000, patient: uuid.UUID = PATIENT) -> SubmittedClaim:
    return SubmittedClaim(uuid.uuid4(), "CF9", "SANDBOX", patient, charge, "USD", ())


def test_a_hand_match_checks_payer_amount_and_patient() -> None:
    claim = _claim()
    fits = match_findings(
        payment_payer_ids=["1999999999"],
        payment_charge_cents=13000,
        payment_paid_cents=10000,
        payment_patient_id=PATIENT,
        claim=claim,
        payer_aliases=["1999999999"],
    )
    assert fits == []
    findings = match_findings(
        payment_payer_ids=["1888888888"],
        payment_charge_cents=10000,
        payment_paid_cents=10000,
        payment_patient_id=uuid.uuid4(),
        claim=claim,
        payer_aliases=["1999999999"],
    )
    assert [finding.check for finding in findings] == ["payer", "amount", "patient"]
    assert "13000" in findings[1].message and "10000" in findings[1].message


def test_a_hand_match_without_a_patient_id_compares_member_id_digests() -> None:
    claim = dataclasses.replace(_claim(), member_digest="a" * 32)

    def checks(digests: tuple[str, ...]) -> list[str]:
        return [
            finding.check
            for finding in match_findings(
                payment_payer_ids=["1999999999"],
                payment_charge_cents=13000,
                payment_paid_cents=10000,
                payment_patient_id=None,
                payment_member_digests=digests,
                claim=claim,
                payer_aliases=["1999999999"],
            )
        ]

    assert checks(("b" * 32, "a" * 32)) == []
    assert checks(("b" * 32,)) == ["patient"]
    assert checks(()) == [], "a payment naming no member id cannot be checked"


def test_a_payment_beyond_the_claims_charge_is_an_amount_finding() -> None:
    (finding,) = match_findings(
        payment_payer_ids=["SANDBOX"],
        payment_charge_cents=13000,
        payment_paid_cents=13001,
        payment_patient_id=None,
        claim=_claim(),
        payer_aliases=[],
    )
    assert finding.check == "amount"


def test_money_dates_and_currencies_name_the_field() -> None:
    assert date_problem(TODAY, TODAY, field="received_on") is None
    assert date_problem(TODAY + dt.timedelta(days=1), TODAY, field="received_on") is None
    early = date_problem(dt.date(1, 1, 1), TODAY, field="received_on")
    late = date_problem(dt.date(9999, 12, 31), TODAY, field="received_on")
    assert early is not None and early.startswith("received_on:") and "1900" in early
    assert late is not None and late.startswith("received_on:") and "future" in late
    assert currency_problem("USD", "USD") is None
    problem = currency_problem("USD", "EUR")
    assert problem is not None and problem.startswith("currency:") and "USD" in problem


def test_a_cursor_reads_back_its_position_and_a_forged_one_is_a_422() -> None:
    position = (dt.datetime(2026, 11, 29, 22, 0, 1, 123456, tzinfo=dt.UTC), uuid.uuid4())
    assert paging.position(paging.cursor_of(position)) == position
    assert paging.position(None) is None
    for forged in ("not-a-cursor", "MjAyNnw=", ""):
        with pytest.raises(HTTPException) as refused:
            paging.position(forged)
        assert refused.value.status_code == 422


def test_a_payment_in_another_currency_than_its_claims_goes_to_suspense_naming_cur02() -> None:
    claim = _claim(charge=15500)
    facts = _facts("CF9", paid=11000, adjustments=(("CO", "45", 1500), ("PR", "2", 3000)))
    payment = NewClaimPayment(uuid.uuid4(), uuid.uuid4(), facts, "EUR", claim, None, None)
    (refused,) = refuse_foreign_currency([payment], "EUR")
    assert refused.claim is None and refused.suspense_reason is not None
    assert refused.suspense_reason.startswith("CUR02:") and "USD" in refused.suspense_reason
    (kept,) = refuse_foreign_currency([payment], "USD")
    assert kept is payment


def test_a_suspended_reversal_of_the_claims_payment_fits_its_claim() -> None:
    findings = match_findings(
        payment_payer_ids=["SANDBOX"],
        payment_charge_cents=-13000,
        payment_paid_cents=-10000,
        payment_patient_id=None,
        claim=_claim(),
        payer_aliases=[],
    )
    assert findings == []
