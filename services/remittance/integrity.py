"""Money integrity around posting: what a file's claim payments must pass before they reach a ledger
(one currency, no repeat of a payment already posted), the COB netting of later payers, and the
refund work item a credit balance opens. Each function runs in the caller's unit of work."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain.money_integrity import (
    CobClaim,
    PostedPayment,
    cob_netting_entries,
    currency_problem,
    is_later_payer,
    payer_sequence,
    probable_duplicate_of,
    standing_after,
)
from services.remittance.domain.posting import REVERSAL, ClaimPaymentFacts, EntryDraft, SubmittedClaim, payer_key
from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.repository import (
    ChainClaim,
    MoneyIntegrityRepository,
    NewClaimPayment,
    PaymentSource,
)


def payment_sources(advices: Iterable[RemittanceAdvice]) -> dict[tuple[str, str], PaymentSource]:
    """Payer name (N1*PR) and payment method (BPR04) of each (payer, trace number) of a file."""
    return {
        (payer_key(advice), advice.trace.trace_number): PaymentSource(
            advice.payer.name or None, advice.payment.method or None
        )
        for advice in advices
    }


def refuse_foreign_currency(payments: Sequence[NewClaimPayment], currency: str) -> list[NewClaimPayment]:
    """A payment in another currency than its claim's goes to suspense: one currency per account."""
    refused = []
    for payment in payments:
        claim = payment.claim
        problem = None if claim is None else currency_problem(claim.currency, currency, field="CUR02")
        if problem is not None:
            payment = dataclasses.replace(payment, claim=None, suspense_reason=problem, reversal_of=None)
        refused.append(payment)
    return refused


async def hold_probable_duplicates(
    session: AsyncSession, tenant: str, payments: Sequence[NewClaimPayment]
) -> list[NewClaimPayment]:
    """Payments that repeat one already posted to the same claim (same CLP02, CLP07 and amounts, any
    TRN02), or an earlier one of the same file, are held for review instead of posted. A file that also
    reverses the claim is left to its reversal."""
    matched = [payment for payment in payments if payment.claim is not None]
    if not matched:
        return list(payments)
    posted = await MoneyIntegrityRepository(session, tenant).posted_payments_of(
        [payment.claim.claim_id for payment in matched if payment.claim is not None]
    )
    reversed_in_file = {
        payment.claim.claim_id
        for payment in matched
        if payment.claim is not None and payment.facts.key.status_code == REVERSAL
    }
    earlier_in_file: dict[uuid.UUID, list[PostedPayment]] = {}
    held: list[NewClaimPayment] = []
    for payment in payments:
        claim = payment.claim
        if claim is None or payment.reversal_of is not None:
            held.append(payment)
            continue
        facts = payment.facts
        candidates = posted.get(claim.claim_id, [])
        if claim.claim_id not in reversed_in_file:
            candidates = [*candidates, *earlier_in_file.get(claim.claim_id, [])]
        duplicate_of = probable_duplicate_of(facts, candidates)
        if duplicate_of is not None:
            held.append(dataclasses.replace(payment, duplicate_of=duplicate_of))
            continue
        earlier_in_file.setdefault(claim.claim_id, []).append(
            PostedPayment(
                payment.id,
                claim.claim_id,
                facts.key.status_code,
                facts.payer_claim_control_number,
                facts.charge_cents,
                facts.paid_cents,
                facts.patient_responsibility_cents,
                reversed=False,
            )
        )
        held.append(payment)
    return held


@dataclass(frozen=True, slots=True)
class PostedClaimPayment:
    """A claim payment being posted to its claim (a non-reversal)."""

    id: uuid.UUID
    facts: ClaimPaymentFacts
    claim: SubmittedClaim


def to_net(payments: Iterable[NewClaimPayment]) -> list[PostedClaimPayment]:
    """The payments of a file that post to a claim as payments (not reversals), in file order."""
    return [
        PostedClaimPayment(payment.id, payment.facts, payment.claim)
        for payment in payments
        if payment.claim is not None and payment.reversal_of is None
    ]


async def cob_netting(
    session: AsyncSession,
    tenant: str,
    payments: Sequence[PostedClaimPayment],
    pending: Sequence[tuple[EntryDraft, uuid.UUID | None]],
) -> list[tuple[EntryDraft, uuid.UUID | None]]:
    """The netting entries of the later payers' payments among `payments` (in file order), each counting
    the ledger as it stands plus what the file posts before it (`pending`, the file's own entries)."""
    later = [payment for payment in payments if is_later_payer(payment.facts)]
    if not later:
        return []
    chains = await MoneyIntegrityRepository(session, tenant).cob_chains([payment.claim.claim_id for payment in later])
    order = {payment.id: index for index, payment in enumerate(payments)}
    # The file's claim entries by account, each with its payment's place in the file: a payment counts only
    # the entries of its chain's claims posted before it (not every entry of the file: quadratic on large files).
    by_account: dict[str, list[tuple[int, EntryDraft]]] = {}
    for entry, payment_id in pending:
        if payment_id is not None and entry.account_type == "claim":
            by_account.setdefault(entry.account_id, []).append((order.get(payment_id, len(order)), entry))
    netting: list[tuple[EntryDraft, uuid.UUID | None]] = []
    for payment in later:
        claim = payment.claim
        sequence = payer_sequence(payment.facts.key.status_code) or 1
        links = chains.get(claim.claim_id, [])
        place = order[payment.id]
        accounts = {str(link.claim_id) for link in links} | {str(claim.claim_id)}
        before = [entry for account in accounts for at, entry in by_account.get(account, ()) if at < place]
        chain = standing_after([_cob_claim(link, sequence) for link in links], before, paid_claim_id=claim.claim_id)
        entries = cob_netting_entries(
            payment.facts, payment_id=payment.id, claim_id=claim.claim_id, patient_id=claim.patient_id, chain=chain
        )
        netting.extend((entry, payment.id) for entry in entries)
        for entry in entries:
            if entry.account_type == "claim":
                by_account.setdefault(entry.account_id, []).append((place, entry))
    return netting


def _cob_claim(link: ChainClaim, sequence: int) -> CobClaim:
    earlier = any((payer_sequence(code) or 1) < sequence for code in link.posted_status_codes)
    return CobClaim(link.claim_id, link.standing_patient_responsibility_cents, earlier)


async def sync_refund_items(session: AsyncSession, tenant: str, claim_ids: Iterable[uuid.UUID]) -> None:
    """Open (or update) a refund work item for each claim left with a credit balance; clear the open
    item of a claim whose credit is gone."""
    await MoneyIntegrityRepository(session, tenant).settle_refund_items(set(claim_ids))
