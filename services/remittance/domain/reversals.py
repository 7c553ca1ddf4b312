"""Which payment a reversal (CLP02 22) undoes when that payment is in the same file, and which PLB
adjustments name a claim. Pure: facts in, indexes out.

Payers correct a claim in one check by paying it, reversing that payment and paying it again, in that
order. The reversal undoes the latest earlier payment of the same claim in the file that is not a
reversal and not already reversed, with the same payer claim number (CLP07) when the reversal names one,
else with exactly the negated charge and payment; when the file holds none, the reversal undoes a payment
posted from an earlier file, chosen the same way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from services.remittance.domain.posting import ClaimPaymentFacts

RECOUPMENT_REASONS = frozenset({"WO", "72"})
"""PLB03-1 reasons that take back (or, negative, give back) money paid on the claim PLB03-2 names: overpayment
recovery and authorized return. A forward balance (FB) names the claim whose reversal left the check negative:
that reversal already lowered the claim, the FB only carries the provider's debt to a later check. Interest
(L6) and the like name a claim without changing what it was paid."""


def same_file_originals(payments: Sequence[tuple[uuid.UUID | None, ClaimPaymentFacts]]) -> dict[int, int]:
    """For each reversal of the file (its index) whose original payment is earlier in the file: the
    original's index. `payments` are `(claim id or None when unmatched, facts)` in file order."""
    originals: dict[int, int] = {}
    open_payments: dict[uuid.UUID, list[int]] = {}
    """Per claim, the indexes of its payments so far not reversed, in file order."""
    for index, (claim_id, facts) in enumerate(payments):
        if claim_id is None:
            continue
        candidates = open_payments.setdefault(claim_id, [])
        if not facts.is_reversal:
            candidates.append(index)
            continue
        position = _original_position([payments[candidate][1] for candidate in candidates], facts)
        if position is not None:
            originals[index] = candidates.pop(position)
    return originals


def negates(reversal: ClaimPaymentFacts, original: ClaimPaymentFacts) -> bool:
    """The reversal's charge and payment are exactly the original's, negated: how a reversal that carries a
    payer claim number of its own (CLP07) is still recognised."""
    return reversal.charge_cents == -original.charge_cents and reversal.paid_cents == -original.paid_cents


def _original_position(earlier: Sequence[ClaimPaymentFacts], reversal: ClaimPaymentFacts) -> int | None:
    """The position of the latest of `earlier` that the reversal names by payer claim number (any, when it names
    none), else of the latest it exactly negates."""
    latest_first = range(len(earlier) - 1, -1, -1)
    named = reversal.payer_claim_control_number
    for position in latest_first:
        if not named or earlier[position].payer_claim_control_number == named:
            return position
    return next((position for position in latest_first if negates(reversal, earlier[position])), None)


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A posted, not yet reversed, non-reversal payment of a claim that a reversal of a later file may undo."""

    id: uuid.UUID
    claim_id: uuid.UUID
    payer_claim_control_number: str | None
    charge_cents: int
    paid_cents: int
    posted_at: dt.datetime


def stored_original(
    candidates: Sequence[StoredPayment], reversal: ClaimPaymentFacts, *, excluding: Collection[uuid.UUID] = ()
) -> uuid.UUID | None:
    """The stored payment a reversal undoes when its original is not in the file: among its claim's
    `candidates` (latest posted first) other than those `excluding` (taken by the file's earlier reversals),
    the latest with the reversal's payer claim number (CLP07; any when it names none), else the latest it
    exactly negates."""
    open_ones = [candidate for candidate in candidates if candidate.id not in excluding]
    named = reversal.payer_claim_control_number
    for candidate in open_ones:
        if not named or candidate.payer_claim_control_number == named:
            return candidate.id
    if not named:
        return None
    return next(
        (
            candidate.id
            for candidate in open_ones
            if reversal.charge_cents == -candidate.charge_cents and reversal.paid_cents == -candidate.paid_cents
        ),
        None,
    )


def plb_claim_reference(reference: str) -> str | None:
    """The claim a PLB03-2 names (the payer's claim control number, or our CLP01), None when it names none."""
    return reference.strip() or None


def claim_recoupment_cents(reason: str, amount_cents: int) -> int:
    """What a PLB adjustment linked to a claim does to that claim's payments (positive: paid less). Zero for
    reasons that do not take money back on the claim."""
    return amount_cents if reason in RECOUPMENT_REASONS else 0
