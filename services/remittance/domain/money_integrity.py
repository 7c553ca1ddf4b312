"""Money integrity rules of posting: probable duplicate payments, coordination-of-benefits netting,
credit balances, payer consistency of a hand match, and the dates and currencies an account accepts.

Pure functions over the posting domain's values; no I/O.

Coordination of benefits (COB): a claim payment from a later payer (CLP02 2/3 processed as
secondary/tertiary, 20/21 the same and forwarded) nets against what the earlier payers left. The
patient responsibility still standing on the claims of the same encounter (the primary's claim, or
the same claim when the payer crossed it over) is handed to this payer: it leaves the patient's
account and the earlier claim's ledger, and the patient then owes only what this payer leaves
(its own CAS PR). A crossover restates the earlier payers' adjudication (CAS 23) on a claim that
already carries it; that restatement is offset on the claim so it is not counted twice. Every
entry is one of the payment's own, so a reversal of the payment undoes the netting one for one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.remittance.domain.posting import (
    PATIENT_RESPONSIBILITY,
    REVERSAL,
    ClaimPaymentFacts,
    EntryDraft,
    SubmittedClaim,
)

PAYER_SEQUENCE = {"1": 1, "19": 1, "2": 2, "20": 2, "3": 3, "21": 3}
"""CLP02 as the payer's place in the coordination of benefits: primary, secondary, tertiary."""
PRIOR_PAYER_CARC = "23"
"""CARC 23: the impact of prior payer(s) adjudication including payments and/or adjustments."""
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DAYS_AHEAD = 1
"""A payment is received today (a day's grace for time zones), never in the future."""


def payer_sequence(status_code: str) -> int | None:
    """1, 2 or 3 for a processed claim (CLP02 1/2/3/19/20/21), None for denials, reversals and the rest."""
    return PAYER_SEQUENCE.get(status_code)


def is_later_payer(facts: ClaimPaymentFacts) -> bool:
    """A secondary or tertiary payer's payment: it nets against the earlier payers' adjudication."""
    return (payer_sequence(facts.key.status_code) or 1) > 1


# ----------------------------------------------------------------------------- duplicate payments


@dataclass(frozen=True, slots=True)
class PostedPayment:
    """A claim payment already on a claim's ledger, as a new payment is compared to it."""

    id: uuid.UUID
    claim_id: uuid.UUID
    status_code: str
    payer_claim_control_number: str
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    reversed: bool


def repeats(facts: ClaimPaymentFacts, posted: PostedPayment) -> bool:
    """The same claim payment again: same claim status, payer claim control number (CLP07) and amounts
    (charge, paid, patient responsibility), whatever trace number (TRN02) the payer put it under."""
    return (
        not posted.reversed
        and posted.status_code == facts.key.status_code
        and posted.payer_claim_control_number == facts.payer_claim_control_number
        and posted.charge_cents == facts.charge_cents
        and posted.paid_cents == facts.paid_cents
        and posted.patient_responsibility_cents == facts.patient_responsibility_cents
    )


def probable_duplicate_of(facts: ClaimPaymentFacts, posted: Iterable[PostedPayment]) -> uuid.UUID | None:
    """The posted, not reversed payment of the same claim this one repeats, or None. Reversals are never
    duplicates (their own key and the one-reversal-per-payment rule guard them)."""
    if facts.key.status_code == REVERSAL:
        return None
    return next((payment.id for payment in posted if repeats(facts, payment)), None)


# ----------------------------------------------------------------------------- COB netting


@dataclass(frozen=True, slots=True)
class CobClaim:
    """A claim of the same encounter as a later payer's payment (that payment's own claim included)."""

    claim_id: uuid.UUID
    standing_patient_responsibility_cents: int
    """What the patient owes from this claim's payers so far (its CAS PR entries, net)."""
    earlier_payer_posted: bool
    """An earlier payer's payment is posted on this very claim (the later payer crossed it over)."""


def cob_netting_entries(
    facts: ClaimPaymentFacts,
    *,
    payment_id: uuid.UUID,
    claim_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    chain: Sequence[CobClaim],
) -> list[EntryDraft]:
    """The entries that net a later payer's payment against the earlier payers, beside its own entries.

    - for each claim of the encounter with patient responsibility standing: that responsibility moves to
      this payer (claim +PR, and on another claim than the paid one, an OA-23 adjustment closes it; the
      patient's account -PR);
    - on the paid claim, when an earlier payer's payment is already on it (crossover): the payment's CAS 23
      restating that adjudication is offset (+), as it is already posted.
    Nothing for a primary payment, a denial or a reversal.
    """
    if not is_later_payer(facts):
        return []
    key = f"{payment_id}:cob"
    entries: list[EntryDraft] = []
    for claim in chain:
        standing = claim.standing_patient_responsibility_cents
        account = str(claim.claim_id)
        if standing > 0:
            entries.append(
                EntryDraft(
                    "claim",
                    account,
                    "patient_responsibility",
                    standing,
                    f"{key}:{account}:to-next-payer",
                    group_code=PATIENT_RESPONSIBILITY,
                    carc=PRIOR_PAYER_CARC,
                    reference=f"patient responsibility handed to the next payer (CLP02 {facts.key.status_code})",
                )
            )
            if claim.claim_id != claim_id:
                entries.append(
                    EntryDraft(
                        "claim",
                        account,
                        "adjustment",
                        -standing,
                        f"{key}:{account}:next-payer-claim",
                        group_code="OA",
                        carc=PRIOR_PAYER_CARC,
                        reference=f"billed to the next payer on claim {claim_id}",
                    )
                )
            if patient_id is not None:
                entries.append(
                    EntryDraft(
                        "patient",
                        str(patient_id),
                        "patient_responsibility",
                        -standing,
                        f"{key}:{account}:patient",
                        group_code=PATIENT_RESPONSIBILITY,
                        carc=PRIOR_PAYER_CARC,
                        reference=account,
                    )
                )
        if claim.claim_id == claim_id and claim.earlier_payer_posted:
            restated = sum(a.amount_cents for a in facts.adjustments if a.carc == PRIOR_PAYER_CARC)
            if restated:
                entries.append(
                    EntryDraft(
                        "claim",
                        account,
                        "adjustment",
                        restated,
                        f"{key}:{account}:prior-payer-restated",
                        group_code="OA",
                        carc=PRIOR_PAYER_CARC,
                        reference="earlier payers' adjudication, already posted on this claim",
                    )
                )
    return entries


def standing_after(
    chain: Sequence[CobClaim], entries: Iterable[EntryDraft], *, paid_claim_id: uuid.UUID
) -> list[CobClaim]:
    """The chain as it stands once `entries` (posted earlier in the same file) are counted too."""
    pending: dict[str, int] = {}
    payer_paid: set[str] = set()
    for entry in entries:
        if entry.account_type != "claim":
            continue
        if entry.kind == "patient_responsibility":
            pending[entry.account_id] = pending.get(entry.account_id, 0) - entry.amount_cents
        elif entry.kind == "payment":
            payer_paid.add(entry.account_id)
    return [
        CobClaim(
            claim.claim_id,
            claim.standing_patient_responsibility_cents + pending.get(str(claim.claim_id), 0),
            claim.earlier_payer_posted or (claim.claim_id == paid_claim_id and str(claim.claim_id) in payer_paid),
        )
        for claim in chain
    ]


# ----------------------------------------------------------------------------- credit balances


def refund_entry(claim_id: uuid.UUID, refund_id: uuid.UUID, credit_cents: int) -> EntryDraft:
    """Money sent back to the payer: a negative payment that brings the claim's credit balance to zero."""
    return EntryDraft(
        "claim",
        str(claim_id),
        "payment",
        credit_cents,
        f"refund:{refund_id}",
        reference=f"refund {refund_id} of a credit balance",
    )


# ----------------------------------------------------------------------------- suspense matching


@dataclass(frozen=True, slots=True)
class MatchFinding:
    """One way a suspended payment does not fit the claim a person names."""

    check: str
    """`payer`, `amount` or `patient`."""
    message: str


def match_findings(
    *,
    payment_payer_ids: Sequence[str],
    payment_charge_cents: int,
    payment_paid_cents: int,
    payment_patient_id: uuid.UUID | None,
    claim: SubmittedClaim,
    payment_member_digests: Sequence[str] = (),
    payer_aliases: Sequence[str],
) -> list[MatchFinding]:
    """Why a suspended payment may belong to another claim: a payer that never paid this claim's payer
    id, a charge (CLP03) other than the claim's total charge or a payment beyond it, another patient.

    `payment_payer_ids` are the identifiers the 835 gives its payer (TRN03, N1*PR id); `payer_aliases` the
    claim payer's identifiers already seen on payments matched by claim number (what the 835 calls it).
    """
    findings: list[MatchFinding] = []
    known = {claim.payer_id, *payer_aliases}
    if not known.intersection(i for i in payment_payer_ids if i):
        findings.append(
            MatchFinding(
                "payer",
                f"the payment's payer ({', '.join(i for i in payment_payer_ids if i) or 'unnamed'}) is not "
                f"known as the claim's payer {claim.payer_id}",
            )
        )
    # a reversal (CLP02 22) states the reversed amounts negated
    payment_charge_cents, payment_paid_cents = abs(payment_charge_cents), abs(payment_paid_cents)
    if payment_charge_cents != claim.total_charge_cents:
        findings.append(
            MatchFinding(
                "amount",
                f"the payment is for a charge of {payment_charge_cents} cents, the claim charged "
                f"{claim.total_charge_cents} cents",
            )
        )
    elif payment_paid_cents > claim.total_charge_cents:
        findings.append(MatchFinding("amount", f"the payment of {payment_paid_cents} cents exceeds the claim's charge"))
    if payment_patient_id is not None and claim.patient_id is not None and payment_patient_id != claim.patient_id:
        findings.append(MatchFinding("patient", "the payment names another patient than the claim's"))
    elif claim.member_digest and payment_member_digests and claim.member_digest not in payment_member_digests:
        findings.append(
            MatchFinding("patient", "the member id the payment names (NM1*QC/IL) is not the claim's subscriber's")
        )
    return findings


# ----------------------------------------------------------------------------- dates and currencies


def date_problem(day: dt.date, today: dt.date, *, field: str) -> str | None:
    """Why a money date cannot be right (before 1900, or after today), naming the field; None when sane."""
    if day < EARLIEST_DATE:
        return f"{field}: {day.isoformat()} is before {EARLIEST_DATE.isoformat()}"
    if day > today + dt.timedelta(days=LATEST_DAYS_AHEAD):
        return f"{field}: {day.isoformat()} is in the future"
    return None


def currency_problem(account_currency: str, currency: str, *, field: str = "currency") -> str | None:
    """One currency per account: another one is refused, naming the account's."""
    if currency != account_currency:
        return f"{field}: this account is kept in {account_currency}; {currency} cannot be posted to it"
    return None
