"""Posting a remittance file, matching suspended payments, patient payments and plans.

Each function runs inside the caller's unit of work (one transaction): the file row, every claim
payment, every ledger entry and every outbox event commit together or not at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from services.remittance.domain import accounts
from services.remittance.domain.balancing import BalanceFinding, balance_report
from services.remittance.domain.money_integrity import (
    MatchFinding,
    currency_problem,
    date_problem,
    is_later_payer,
    match_findings,
    refund_entry,
)
from services.remittance.domain.posting import (
    ClaimPaymentFacts,
    EntryDraft,
    PostingResult,
    SubmittedClaim,
    charge_entry,
    denial_of,
    matched_to,
    payment_entries,
    provider_entries,
    read_claim_payments,
    reversal_entries,
)
from services.remittance.domain.rejection import Rejection
from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.domain.reversals import (
    StoredPayment,
    claim_recoupment_cents,
    plb_claim_reference,
    same_file_originals,
    stored_original,
)
from services.remittance.domain.x12_835 import parse_835
from services.remittance.integrity import (
    PostedClaimPayment,
    cob_netting,
    hold_probable_duplicates,
    payment_sources,
    refuse_foreign_currency,
    sync_refund_items,
    to_net,
)
from services.remittance.repository import (
    ClaimPaymentRecord,
    ClaimPaymentRepository,
    InboundFileRepository,
    LedgerEntry,
    LedgerRepository,
    MatchingLock,
    MoneyIntegrityRepository,
    NewClaimPayment,
    PatientPayment,
    PatientPaymentRepository,
    PaymentPlan,
    PaymentPlanRepository,
    RefundItem,
    RemittanceFileRepository,
    SubmittedClaimRepository,
)
from shared.events import wire
from shared.events.catalog import (
    ClaimSubmittedV1,
    PatientPaymentReceivedV1,
    PaymentPlanChangedV1,
    PlanInstallment,
)
from shared.events.envelope import EventEnvelope
from shared.idempotency import request_fingerprint
from shared.ids import time_ordered_id
from shared.messaging.outbox import Outbox, OutgoingEvent
from shared.patient_match import MemberDigest
from shared.x12.errors import X12Error
from shared.x12.tokenizer import paused_gc

_BALANCE_SEGMENT = {"service_line": "SVC", "claim": "CLP", "transaction": "BPR"}


class RemittanceRejected(Exception):
    """A file that cannot be posted: nothing of it is."""

    def __init__(self, detail: Rejection) -> None:
        super().__init__(detail["reason"])
        self.detail = detail


class PostingConflict(Exception):
    """The request cannot be applied in the record's current state (already posted, nothing to reverse...)."""


class NotFound(Exception):
    pass


class MoneyRefused(Exception):
    """A payment that cannot be taken as asked (unknown currency for the account, impossible date): nothing is
    posted. `field` names the request field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class MatchRefused(Exception):
    """A hand match whose payment does not fit the claim (payer, amount, patient): refused unless forced."""

    def __init__(self, findings: Sequence[MatchFinding]) -> None:
        super().__init__("; ".join(finding.message for finding in findings))
        self.findings = tuple(findings)


def parse_remittance(body: bytes) -> tuple[RemittanceAdvice, ...]:
    """The 835 transaction sets of a file, or RemittanceRejected naming the segment and position.

    CPU-bound: callers on the event loop run it in a thread."""
    try:
        advices = parse_835(body)
    except X12Error as exc:
        raise RemittanceRejected(
            {
                "reason": exc.message,
                "segment_id": exc.segment_id,
                "position": exc.position,
                "element": exc.element_index,
            }
        ) from None
    except (ValueError, UnicodeError) as exc:
        raise RemittanceRejected({"reason": f"not an X12 file: {exc}", "segment_id": None, "position": None}) from None
    if not advices:
        raise RemittanceRejected(
            {"reason": "the file holds no 835 transaction set", "segment_id": None, "position": None}
        )
    return advices


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def rejection_for_balance(findings: Sequence[BalanceFinding]) -> RemittanceRejected:
    first = findings[0]
    return RemittanceRejected(
        {
            "reason": f"the remittance does not balance: {first.message}",
            "segment_id": _BALANCE_SEGMENT[first.rule],
            "position": first.position,
            "findings": [
                {
                    "rule": finding.rule,
                    "clp01": finding.clp01,
                    "segment_id": _BALANCE_SEGMENT[finding.rule],
                    "position": finding.position,
                    "expected_cents": finding.expected_cents,
                    "actual_cents": finding.actual_cents,
                }
                for finding in findings[:20]
            ],
        }
    )


@dataclass
class _Posting:
    """What one posting adds, collected then written in bulk."""

    entries: list[tuple[EntryDraft, uuid.UUID | None]] = field(default_factory=list)
    events: list[OutgoingEvent] = field(default_factory=list)
    paid_cents: int = 0


async def post_remittance(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    body: bytes,
    advices: Sequence[RemittanceAdvice],
    member_digest: MemberDigest,
    today: dt.date | None = None,
) -> tuple[PostingResult, bool]:
    """Post a parsed 835 file once: `(result, created)`; the same content again answers the first result.

    The cyclic garbage collector is paused meanwhile (`paused_gc`): a large file makes hundreds of thousands
    of small acyclic records, and letting the collector walk them over and over took a third of the posting."""
    with paused_gc():
        return await _post_remittance(
            session, outbox, tenant=tenant, body=body, advices=advices, member_digest=member_digest, today=today
        )


async def _post_remittance(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    body: bytes,
    advices: Sequence[RemittanceAdvice],
    member_digest: MemberDigest,
    today: dt.date | None,
) -> tuple[PostingResult, bool]:
    today = today or dt.date.today()
    files = RemittanceFileRepository(session, tenant)
    digest = content_hash(body)
    if (existing := await files.get_by_hash(digest)) is not None and existing.result is not None:
        return existing.result, False
    findings = balance_report(advices)
    if findings:
        raise rejection_for_balance(findings)
    file_id = time_ordered_id()
    warnings = [warning for advice in advices for warning in advice.warnings]
    if not await files.add_if_new(file_id, digest, len(body), warnings):
        existing = await files.get_by_hash(digest)
        assert existing is not None and existing.result is not None, "a conflicting file is visible once posted"
        return existing.result, False

    await MatchingLock(session, tenant).share()
    control_numbers = sorted({claim.patient_control_number for advice in advices for claim in advice.claims})
    submitted = await SubmittedClaimRepository(session, tenant).by_control_numbers(control_numbers)
    all_facts = read_claim_payments(advices, today=today, submitted=submitted)
    currency = _currency(advices)
    payments = ClaimPaymentRepository(session, tenant)
    file_payments = await _claim_payments_of_file(payments, file_id, all_facts, submitted, currency)
    file_payments = [_with_member_digests(payment, tenant, member_digest) for payment in file_payments]
    file_payments = refuse_foreign_currency(file_payments, currency)
    file_payments = await hold_probable_duplicates(session, tenant, file_payments)
    ledger = LedgerRepository(session, tenant)
    ahead = _prepare_ahead(ledger, file_payments, currency=currency, posted_on=today)
    inserted = await payments.add_new(file_payments, payment_sources(advices))
    prepared = None if ahead is None else await ahead
    to_post = [payment for payment in file_payments if payment.id in inserted and payment.duplicate_of is None]
    envelopes: asyncio.Future[list[EventEnvelope]] | None = None
    if prepared is not None and prepared.payment_ids <= inserted:  # as foreseen: every payment was new
        posting = prepared.posting
        envelopes = asyncio.ensure_future(
            asyncio.to_thread(outbox.envelopes_of, tenant=tenant, events=posting.events)
        )  # made while the ledger is written
        await ledger.copy_records(prepared.ledger_records)
    else:
        netting = await _cob_netting_of_file(session, tenant, to_post)
        posting = await _post_in_file_order(ledger, to_post, currency=currency, posted_on=today, netting=netting)
    await sync_refund_items(session, tenant, {payment.claim.claim_id for payment in to_post if payment.claim})
    provider_posted = 0
    for advice in advices:
        provider_posted += await ledger.add_if_new(provider_entries(advice), currency=currency, posted_on=today)
    recoupments = await _plb_claim_entries(session, tenant, advices, file_payments)
    await ledger.add_if_new(recoupments, currency=currency, posted_on=today)
    if envelopes is not None:
        await outbox.add_envelopes(session, await envelopes)
    else:
        await outbox.add_many(session, tenant=tenant, events=posting.events)

    posted = sum(1 for payment in to_post if payment.claim is not None)
    held = sum(1 for payment in file_payments if payment.id in inserted and payment.duplicate_of is not None)
    result = PostingResult(
        remittance_id=file_id,
        transactions=len(advices),
        claim_payments=len(all_facts),
        posted=posted,
        suspended=len(inserted) - posted - held,
        duplicates=len(all_facts) - len(inserted),
        provider_adjustments_posted=provider_posted,
        paid_cents=posting.paid_cents,
        currency=currency,
        trace_numbers=tuple(sorted({advice.trace.trace_number for advice in advices})),
        held=held,
    )
    await files.set_result(result)
    return result, True


PREPARE_AHEAD_AT_LEAST = 500
"""Claim payments per file from which a plain file's ledger entries and events are made in a worker thread while
its claim payments are written (`_prepare_ahead`)."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A plain file's posting, made on the assumption that every one of `payment_ids` is new."""

    payment_ids: frozenset[uuid.UUID]
    posting: _Posting
    ledger_records: list[tuple[object, ...]]


def _prepare_ahead(
    ledger: LedgerRepository, file_payments: Sequence[NewClaimPayment], *, currency: str, posted_on: dt.date
) -> asyncio.Future[_Prepared] | None:
    """For a large plain file (no reversal to match against stored entries, no later payer to net), its ledger
    entries, their COPY records and its events, made in a worker thread: Python builds them while Postgres
    writes the claim payments (on this 2-core machine, one core each), instead of one after the other. Used only
    when every payment turns out new (`_post_remittance`); otherwise the file is posted as ever."""
    candidates = [payment for payment in file_payments if payment.duplicate_of is None]
    matched = [payment for payment in candidates if payment.claim is not None]
    if len(matched) < PREPARE_AHEAD_AT_LEAST or any(
        payment.reversal_of is not None or is_later_payer(payment.facts) for payment in matched
    ):
        return None

    def prepare() -> _Prepared:
        posting = _Posting()
        for payment in matched:
            assert payment.claim is not None
            _add_payment(posting, payment.id, payment.facts, payment.claim, reversal_of=None)
        records = ledger.records_of(posting.entries, currency=currency, posted_on=posted_on)
        return _Prepared(frozenset(payment.id for payment in candidates), posting, records)

    return asyncio.ensure_future(asyncio.to_thread(prepare))


def _with_member_digests(payment: NewClaimPayment, tenant: str, member_digest: MemberDigest) -> NewClaimPayment:
    """A suspended payment keeps digests of the member ids its 835 names (never the ids), so a match by hand can
    tell whether it names the claim's subscriber."""
    if payment.claim is not None or not payment.facts.member_ids:
        return payment
    return dataclasses.replace(payment, member_digests=member_digest.of_all(tenant, payment.facts.member_ids))


async def _claim_payments_of_file(
    payments: ClaimPaymentRepository,
    file_id: uuid.UUID,
    all_facts: Sequence[ClaimPaymentFacts],
    submitted: dict[str, SubmittedClaim],
    currency: str,
) -> list[NewClaimPayment]:
    """The file's claim payments in file order. A reversal whose original is earlier in the same file
    reverses it (`domain.reversals.same_file_originals`); any other reverses a payment posted before,
    never one that an earlier reversal of this file already took."""
    claims = [submitted.get(facts.key.claim_control_number) for facts in all_facts]
    in_file = same_file_originals(
        [(None if claim is None else claim.claim_id, facts) for claim, facts in zip(claims, all_facts, strict=True)]
    )
    reversed_claims = {
        claim.claim_id
        for index, (facts, claim) in enumerate(zip(all_facts, claims, strict=True))
        if claim is not None and facts.is_reversal and index not in in_file
    }
    stored = await payments.reversible_of(reversed_claims)  # one query for every reversal of the file
    file_payments: list[NewClaimPayment] = []
    taken: set[uuid.UUID] = set()
    for index, (facts, claim) in enumerate(zip(all_facts, claims, strict=True)):
        if index in in_file:
            original = file_payments[in_file[index]]
            file_payments.append(NewClaimPayment(time_ordered_id(), file_id, facts, currency, claim, None, original.id))
            continue
        payment = _claim_payment(file_id, facts, claim, currency, stored, excluding=taken)
        if payment.reversal_of is not None:
            taken.add(payment.reversal_of)
        file_payments.append(payment)
    return file_payments


def _claim_payment(
    file_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    claim: SubmittedClaim | None,
    currency: str,
    stored: Mapping[uuid.UUID, Sequence[StoredPayment]],
    *,
    excluding: Collection[uuid.UUID],
) -> NewClaimPayment:
    """A claim payment of the file, posted to its claim, or suspended when it has none (or reverses nothing).
    `stored`: the reversible payments of the file's reversed claims (`ClaimPaymentRepository.reversible_of`)."""
    if claim is None:
        reason = "no submitted claim with this claim control number (CLP01)"
        return NewClaimPayment(time_ordered_id(), file_id, facts, currency, None, reason, None)
    reversal_of = None
    if facts.is_reversal:
        reversal_of = stored_original(stored.get(claim.claim_id, ()), facts, excluding=excluding)
        if reversal_of is None:
            reason = "reversal (CLP02 22) of a payment that is not posted"
            return NewClaimPayment(time_ordered_id(), file_id, facts, currency, None, reason, None)
    return NewClaimPayment(time_ordered_id(), file_id, facts, currency, claim, None, reversal_of)


async def _reversed_payment(
    payments: ClaimPaymentRepository,
    claim: SubmittedClaim,
    reversal: ClaimPaymentFacts,
    *,
    excluding: Collection[uuid.UUID] = (),
) -> uuid.UUID | None:
    """The posted payment a reversal takes back: by its payer claim number (CLP07), else (a reversal with a
    CLP07 of its own) the latest one it exactly negates."""
    reversed_id = await payments.reversible_payment_id(
        claim.claim_id, reversal.payer_claim_control_number, excluding=excluding
    )
    if reversed_id is None and reversal.payer_claim_control_number:
        reversed_id = await payments.reversible_payment_id(
            claim.claim_id, "", excluding=excluding, charge_and_paid=(-reversal.charge_cents, -reversal.paid_cents)
        )
    return reversed_id


async def _cob_netting_of_file(
    session: AsyncSession, tenant: str, to_post: Sequence[NewClaimPayment]
) -> list[tuple[EntryDraft, uuid.UUID | None]]:
    """The coordination-of-benefits netting of the file's later-payer payments, counted against the ledger as it
    stood before the file plus the file's own payment entries before each (computed before anything is written)."""
    later = to_net(to_post)
    if not any(is_later_payer(payment.facts) for payment in later):
        return []
    draft = _Posting()
    for payment in later:
        _add_payment(draft, payment.id, payment.facts, payment.claim, reversal_of=None)
    return await cob_netting(session, tenant, later, draft.entries)


async def _post_in_file_order(
    ledger: LedgerRepository,
    inserted: Sequence[NewClaimPayment],
    *,
    currency: str,
    posted_on: dt.date,
    netting: Sequence[tuple[EntryDraft, uuid.UUID | None]] = (),
) -> _Posting:
    """Entries and events of the claim payments a file adds, in file order, written to the ledger (one COPY
    for a file without reversals). A reversal negates its original's stored entries one for one: when the
    original is in this file, the entries before the reversal are written first, so they have their ids.
    A later payer's COB `netting` entries follow its payment's, so a reversal takes them back too."""
    netting_of: dict[uuid.UUID | None, list[tuple[EntryDraft, uuid.UUID | None]]] = {}
    for entry, payment_id in netting:
        netting_of.setdefault(payment_id, []).append((entry, payment_id))
    posting = _Posting()
    written = 0
    unwritten: set[uuid.UUID] = set()
    in_file = {payment.id for payment in inserted}
    stored_entries = await ledger.of_payments(  # the entries of every earlier file's payment reversed, one query
        {payment.reversal_of for payment in inserted if payment.reversal_of and payment.reversal_of not in in_file}
    )
    for payment in inserted:
        if payment.claim is None:
            continue
        if payment.reversal_of is None:
            _add_payment(posting, payment.id, payment.facts, payment.claim, reversal_of=None)
            posting.entries.extend(netting_of.get(payment.id, ()))
            unwritten.add(payment.id)
            continue
        if payment.reversal_of in unwritten:
            await ledger.copy_in(posting.entries[written:], currency=currency, posted_on=posted_on)
            written, unwritten = len(posting.entries), set()
        if payment.reversal_of in stored_entries:
            originals = stored_entries[payment.reversal_of]
        else:  # an original of this file: its entries were just written
            originals = await ledger.of_payment(payment.reversal_of)
        entries = reversal_entries(originals)
        posting.entries.extend((entry, payment.id) for entry in entries)
        _add_events(posting, payment.id, payment.facts, payment.claim, reversal_of=payment.reversal_of)
    await ledger.copy_in(posting.entries[written:], currency=currency, posted_on=posted_on)
    return posting


async def _plb_claim_entries(
    session: AsyncSession, tenant: str, advices: Sequence[RemittanceAdvice], file_payments: Sequence[NewClaimPayment]
) -> list[EntryDraft]:
    """Claim-ledger entries of the PLB adjustments that name a claim (PLB03-2: the payer's claim control number,
    or our CLP01): a recoupment (WO, 72) lowers that claim's payments and reopens its balance, while the
    provider-level entry stays for the check's balance. Each is keyed on its provider entry's source key."""
    references = {
        reference
        for advice in advices
        for adjustment in advice.provider_adjustments
        if (reference := plb_claim_reference(adjustment.reference))
        and claim_recoupment_cents(adjustment.reason, adjustment.amount_cents)
    }
    if not references:
        return []
    claim_of: dict[str, uuid.UUID] = {}
    for control_number, submitted in (
        await SubmittedClaimRepository(session, tenant).by_control_numbers(sorted(references))
    ).items():
        claim_of[control_number] = submitted.claim_id
    claim_of |= await ClaimPaymentRepository(session, tenant).claims_paid_under(sorted(references))
    for payment in file_payments:
        if payment.claim is not None and payment.facts.payer_claim_control_number in references:
            claim_of[payment.facts.payer_claim_control_number] = payment.claim.claim_id
    entries: list[EntryDraft] = []
    for advice in advices:
        for adjustment, provider_entry in zip(advice.provider_adjustments, provider_entries(advice), strict=True):
            reference = plb_claim_reference(adjustment.reference)
            recouped = claim_recoupment_cents(adjustment.reason, adjustment.amount_cents)
            claim_id = claim_of.get(reference) if reference else None
            if claim_id is None or not recouped:
                continue
            entries.append(
                EntryDraft(
                    "claim",
                    str(claim_id),
                    "payment",
                    recouped,
                    f"{provider_entry.source_key}:claim",
                    carc=adjustment.reason,
                    reference=f"PLB {adjustment.reason} {reference}",
                )
            )
    return entries


async def post_inbound(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    file_name: str,
    body: bytes,
    advices: Sequence[RemittanceAdvice],
    member_digest: MemberDigest,
) -> tuple[PostingResult, bool]:
    """An 835 from the clearinghouse inbound box, posted exactly as an upload and recorded with its file name
    in the same transaction: `(result, created)`, `created` False when its content was posted before."""
    result, created = await post_remittance(
        session, outbox, tenant=tenant, body=body, advices=advices, member_digest=member_digest
    )
    await InboundFileRepository(session).record(
        file_name=file_name,
        content_sha256=content_hash(body),
        byte_count=len(body),
        tenant=tenant,
        remittance_id=result.remittance_id,
        rejection=None,
    )
    return result, created


async def reject_inbound(
    session: AsyncSession, *, tenant: str | None, file_name: str, body: bytes, detail: Rejection
) -> None:
    """Remember why an inbound file was not posted (reason, segment, position; no content)."""
    await InboundFileRepository(session).record(
        file_name=file_name,
        content_sha256=content_hash(body),
        byte_count=len(body),
        tenant=tenant,
        remittance_id=None,
        rejection=detail,
    )


def _currency(advices: Sequence[RemittanceAdvice]) -> str:
    codes = {advice.currency.code if advice.currency else "USD" for advice in advices} or {"USD"}
    if len(codes) > 1:
        raise RemittanceRejected({"reason": f"one file pays in several currencies {sorted(codes)}"})
    return codes.pop()


def _add_payment(
    posting: _Posting,
    payment_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    claim: SubmittedClaim,
    *,
    reversal_of: uuid.UUID | None,
) -> None:
    entries = payment_entries(facts, payment_id=payment_id, claim_id=claim.claim_id, patient_id=claim.patient_id)
    posting.entries.extend((entry, payment_id) for entry in entries)
    _add_events(posting, payment_id, facts, claim, reversal_of=reversal_of)


def _add_events(
    posting: _Posting,
    payment_id: uuid.UUID,
    facts: ClaimPaymentFacts,
    claim: SubmittedClaim,
    *,
    reversal_of: uuid.UUID | None,
) -> None:
    posting.paid_cents += facts.paid_cents
    subject, trace_headers = str(claim.claim_id), dict(claim.trace_headers)  # the claim's trace goes on
    posting.events.append((subject, payment_received(payment_id, facts, claim, reversal_of=reversal_of), trace_headers))
    denial = denial_of(facts)
    if denial is not None:
        posting.events.append(
            (
                subject,
                wire.ClaimDeniedV1(
                    claim_id=claim.claim_id,
                    claim_control_number=facts.key.claim_control_number,
                    payer_id=claim.payer_id,
                    trace_number=facts.key.trace_number,
                    denial=denial.scope,
                    denied_cents=denial.denied_cents,
                    currency=claim.currency,
                    carcs=list(denial.carcs),
                    rarcs=list(denial.rarcs),
                    lines=[
                        wire.DeniedLine(
                            line_number=line.line_number or index,
                            procedure_code=line.procedure_code,
                            denied_cents=line.denied_cents,
                            carcs=list(line.carcs),
                            rarcs=list(line.rarcs),
                        )
                        for index, line in enumerate(denial.lines, start=1)
                    ],
                ),
                trace_headers,
            )
        )


def payment_received(
    payment_id: uuid.UUID, facts: ClaimPaymentFacts, claim: SubmittedClaim, *, reversal_of: uuid.UUID | None
) -> wire.PaymentReceivedV1:
    """The `payment-received` event of a claim payment, as its msgspec mirror: the outbox serialises it to the
    bytes the catalog model would give (tests/unit/test_remittance_events.py), without validating a pydantic
    model and its nested ones per payment (every value here comes from a parsed 835 and a stored claim)."""
    lines = facts.lines
    return wire.PaymentReceivedV1(
        payment_id=payment_id,
        claim_id=claim.claim_id,
        claim_control_number=facts.key.claim_control_number,
        payer_id=claim.payer_id,
        trace_number=facts.key.trace_number,
        claim_status_code=facts.key.status_code,
        charge_cents=facts.charge_cents,
        paid_cents=facts.paid_cents,
        patient_responsibility_cents=facts.patient_responsibility_cents,
        currency=claim.currency,
        adjustments=[
            wire.Adjustment(
                group=adjustment.group,  # type: ignore[arg-type]  # CAS01, checked by the parser (CLAIM_ADJUSTMENT_GROUPS)
                carc=adjustment.carc,
                amount_cents=adjustment.amount_cents,
                line_number=None if adjustment.line_index is None else lines[adjustment.line_index].line_number,
            )
            for adjustment in facts.adjustments
        ],
        remark_codes=list(facts.remark_codes),
        next_responsible=facts.next_responsible,
        paid_date=facts.paid_date,
        patient_id=claim.patient_id,
        payer_claim_control_number=facts.payer_claim_control_number or None,
        reversal_of=reversal_of,
        lines=[
            wire.PaidLine(
                line_number=line.line_number,
                procedure_code=line.procedure_code,
                modifiers=list(line.modifiers),
                charge_cents=line.charge_cents,
                paid_cents=line.paid_cents,
            )
            for line in lines
        ],
    )


async def match_suspended(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    payment_id: uuid.UUID,
    claim_control_number: str,
    today: dt.date | None = None,
    patient_id: uuid.UUID | None = None,
    force_reason: str | None = None,
    reviewer: str = "",
) -> uuid.UUID:
    """Post a suspended claim payment to the claim a biller names (its id answered); refused when already posted,
    and when payer, amount or patient do not fit the claim unless forced with a reason."""
    today = today or dt.date.today()
    payments = ClaimPaymentRepository(session, tenant)
    suspended = await payments.get_for_update(payment_id)
    if suspended is None:
        raise NotFound("suspended claim payment not found")
    if suspended.state != "suspense":
        raise PostingConflict("this claim payment is already posted")
    claims = await SubmittedClaimRepository(session, tenant).by_control_numbers([claim_control_number])
    claim = claims.get(claim_control_number)
    if claim is None:
        raise NotFound(f"no submitted claim with claim control number {claim_control_number!r}")
    await check_suspense_match(
        session, tenant, suspended, claim, patient_id=patient_id, force_reason=force_reason, reviewer=reviewer
    )
    if not await _post_suspended(session, outbox, tenant=tenant, suspended=suspended, claim=claim, today=today):
        raise PostingConflict("this is a reversal (CLP02 22) and the claim has no posted payment to reverse")
    return claim.claim_id


async def _post_suspended(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    suspended: ClaimPaymentRecord,
    claim: SubmittedClaim,
    today: dt.date,
) -> bool:
    """Post a suspended (locked) claim payment to `claim` with the entries and events posting it from its file
    would have written; False, and nothing written, for a reversal whose claim has no payment to reverse."""
    payments = ClaimPaymentRepository(session, tenant)
    facts = matched_to(suspended.facts, claim)
    ledger = LedgerRepository(session, tenant)
    posting = _Posting()
    reversal_of = None
    if facts.is_reversal:
        reversal_of = await _reversed_payment(payments, claim, facts)
        if reversal_of is None:
            return False
        entries = reversal_entries(await ledger.of_payment(reversal_of))
        posting.entries.extend((entry, suspended.id) for entry in entries)
        _add_events(posting, suspended.id, facts, claim, reversal_of=reversal_of)
    else:
        _add_payment(posting, suspended.id, facts, claim, reversal_of=None)
        posting.entries.extend(await _stored_payment_netting(session, tenant, suspended, claim, facts))
    await payments.mark_posted(suspended.id, claim=claim, reversal_of=reversal_of, facts=facts)
    await ledger.copy_in(posting.entries, currency=suspended.currency, posted_on=today)
    await outbox.add_many(session, tenant=tenant, events=posting.events)
    await sync_refund_items(session, tenant, [claim.claim_id])
    return True


async def claims_submitted(
    session: AsyncSession,
    outbox: Outbox,
    tenant: str,
    submissions: Sequence[tuple[ClaimSubmittedV1, dict[str, str] | None]],
    today: dt.date | None = None,
) -> int:
    """Record a tenant's submitted claims (`record_submitted_claims`), then post the suspended claim payments
    that name them, exactly as a match would (a `claim-submitted` consumed after its claim's 835 was posted).
    Taken under the tenant's matching lock, exclusively: a file being posted meanwhile is either committed,
    its suspended payments visible here, or waits and then finds these claims. How many payments were posted."""
    await MatchingLock(session, tenant).exclusive()
    await record_submitted_claims(session, tenant, submissions)
    return await rematch_suspended(
        session,
        outbox,
        tenant=tenant,
        claim_control_numbers=[claim.claim_control_number for claim, _ in submissions],
        today=today,
    )


async def rematch_suspended(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    claim_control_numbers: Sequence[str],
    today: dt.date | None = None,
) -> int:
    """Post the suspended claim payments whose CLP01 names one of these (now known) claims, in the order they
    arrived (file, then position in it): a payment, its reversal and the re-payment keep their order. A reversal
    that still finds nothing to reverse stays in suspense. How many were posted."""
    today = today or dt.date.today()
    waiting = await ClaimPaymentRepository(session, tenant).suspended_naming(sorted(set(claim_control_numbers)))
    if not waiting:  # the usual batch: its claims were submitted before any 835 named them
        return 0
    claims = await SubmittedClaimRepository(session, tenant).by_control_numbers(
        sorted({suspended.claim_control_number for suspended in waiting})
    )
    posted = 0
    for suspended in waiting:
        claim = claims.get(suspended.claim_control_number)
        if claim is None:
            continue
        posted += await _post_suspended(session, outbox, tenant=tenant, suspended=suspended, claim=claim, today=today)
    return posted


async def record_submitted_claims(
    session: AsyncSession, tenant: str, submissions: Sequence[tuple[ClaimSubmittedV1, dict[str, str] | None]]
) -> None:
    """Remember submitted claims for matching (each with the trace context its posting continues), open
    their patients' accounts and post their charges (their A/R starts now). Set-based: one statement each
    for the claims, the accounts and the charges, whatever the consumer batch's size."""
    await SubmittedClaimRepository(session, tenant).record_all(submissions)
    await MoneyIntegrityRepository(session, tenant).open_patient_accounts(
        [(claim.patient_id, claim.currency) for claim, _ in submissions if claim.patient_id is not None]
    )
    await LedgerRepository(session, tenant).add_dated_if_new(
        [
            (charge_entry(claim.claim_id, claim.total_charge_cents), claim.currency, claim.submitted_at.date())
            for claim, _ in submissions
        ]
    )


async def take_patient_payment(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    patient_id: uuid.UUID,
    idempotency_key: str,
    amount_cents: int,
    currency: str,
    method: str,
    received_on: dt.date,
) -> tuple[PatientPayment, bool]:
    """A patient payment once per idempotency key: `(payment, created)`; the same key with another
    request is a conflict. Only for a patient remittance knows, in the account's currency, on a sane date."""
    await check_patient_payment(session, tenant, patient_id, currency=currency, received_on=received_on)
    request: dict[str, str | int] = {
        "patient_id": str(patient_id),
        "amount_cents": amount_cents,
        "currency": currency,
        "method": method,
    }
    fingerprint = request_fingerprint(
        "POST", f"/v1/accounts/{patient_id}/payments", {**request, "received_on": received_on.isoformat()}
    )
    repository = PatientPaymentRepository(session, tenant)
    payment_id = uuid.uuid4()
    created = await repository.add_if_new(
        PatientPayment(
            id=payment_id,
            patient_id=patient_id,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            amount_cents=amount_cents,
            currency=currency,
            method=method,
            received_on=received_on,
        )
    )
    payment = await repository.by_idempotency_key(idempotency_key)
    assert payment is not None, "the key's payment is visible once its transaction committed"
    if not created:
        if payment.request_fingerprint != fingerprint:
            raise PostingConflict("this Idempotency-Key was already used for a different payment")
        return payment, False
    await LedgerRepository(session, tenant).add_if_new(
        [
            EntryDraft(
                "patient",
                str(patient_id),
                "patient_payment",
                -amount_cents,
                f"patient-payment:{payment_id}",
                reference=method,
            )
        ],
        currency=currency,
        posted_on=received_on,
    )
    await outbox.add(
        session,
        tenant=tenant,
        subject=str(patient_id),
        payload=PatientPaymentReceivedV1(
            payment_id=payment_id,
            patient_id=patient_id,
            amount_cents=amount_cents,
            currency=currency,
            method=method,
            received_on=received_on,
        ),
    )
    return payment, True


@dataclass(frozen=True, slots=True)
class PatientAccount:
    patient_id: uuid.UUID
    balance_cents: int
    currency: str
    aging: dict[str, int]
    unapplied_credit_cents: int
    entries: tuple[LedgerEntry, ...]


async def patient_account(
    session: AsyncSession, *, tenant: str, patient_id: uuid.UUID, today: dt.date
) -> PatientAccount:
    entries = await LedgerRepository(session, tenant).of_account("patient", str(patient_id))
    aged = accounts.aging((accounts.AccountEntry(entry.posted_on, entry.amount_cents) for entry in entries), today)
    known_currency = await MoneyIntegrityRepository(session, tenant).account_currency(patient_id)
    return PatientAccount(
        patient_id=patient_id,
        balance_cents=aged.balance_cents,
        currency=known_currency or (entries[0].currency if entries else "USD"),
        aging=aged.buckets,
        unapplied_credit_cents=aged.unapplied_credit_cents,
        entries=tuple(entries),
    )


async def create_payment_plan(
    session: AsyncSession, outbox: Outbox, *, tenant: str, patient_id: uuid.UUID, installments: int, first_due: dt.date
) -> PaymentPlan:
    """A plan over the patient's whole current balance; one active plan per patient."""
    account = await patient_account(session, tenant=tenant, patient_id=patient_id, today=first_due)
    try:
        schedule = accounts.installment_schedule(account.balance_cents, installments, first_due)
    except ValueError as exc:
        raise PostingConflict(str(exc)) from None
    plan = PaymentPlan(
        id=uuid.uuid4(),
        patient_id=patient_id,
        total_cents=account.balance_cents,
        currency=account.currency,
        installments=tuple(schedule),
        status="active",
        starts_on=first_due,
    )
    if not await PaymentPlanRepository(session, tenant).add_if_none_active(plan):
        raise PostingConflict("this patient already has an active payment plan")
    await outbox.add(
        session,
        tenant=tenant,
        subject=str(patient_id),
        payload=PaymentPlanChangedV1(
            plan_id=plan.id,
            patient_id=patient_id,
            status="active",
            total_cents=plan.total_cents,
            currency=plan.currency,
            installments=[
                PlanInstallment(number=i.number, due_on=i.due_on, amount_cents=i.amount_cents) for i in schedule
            ],
            changed_on=dt.date.today(),
        ),
    )
    return plan


@dataclass(frozen=True, slots=True)
class OverduePlan:
    plan_id: uuid.UUID
    patient_id: uuid.UUID
    paid_cents: int
    missed: tuple[accounts.MissedInstallment, ...]


async def overdue_plans(session: AsyncSession, *, tenant: str, today: dt.date, grace_days: int) -> list[OverduePlan]:
    """Active plans with an installment past due that payments since the plan began do not cover."""
    payments = PatientPaymentRepository(session, tenant)
    overdue = []
    for plan in await PaymentPlanRepository(session, tenant).active():
        assert plan.created_at is not None, "a stored plan has its creation time"
        paid = await payments.paid_since(plan.patient_id, plan.created_at)
        missed = accounts.missed_installments(plan.installments, paid, today, grace_days=grace_days)
        if missed:
            overdue.append(OverduePlan(plan.id, plan.patient_id, paid, tuple(missed)))
    return overdue


# ----------------------------------------------------------------------------- money integrity


async def _stored_payment_netting(
    session: AsyncSession, tenant: str, stored: ClaimPaymentRecord, claim: SubmittedClaim, facts: ClaimPaymentFacts
) -> list[tuple[EntryDraft, uuid.UUID | None]]:
    """The COB netting of a stored payment posted now (matched from suspense, released from a hold)."""
    return await cob_netting(session, tenant, [PostedClaimPayment(stored.id, facts, claim)], [])


async def check_suspense_match(
    session: AsyncSession,
    tenant: str,
    suspended: ClaimPaymentRecord,
    claim: SubmittedClaim,
    *,
    patient_id: uuid.UUID | None,
    force_reason: str | None,
    reviewer: str,
) -> None:
    """Refuse a hand match whose payment does not fit the claim (payer, amount, patient) unless a person
    forces it with a reason, which is kept with the payment."""
    repository = MoneyIntegrityRepository(session, tenant)
    findings = match_findings(
        payment_payer_ids=[suspended.payer_id],
        payment_charge_cents=suspended.charge_cents,
        payment_paid_cents=suspended.paid_cents,
        payment_patient_id=patient_id,
        payment_member_digests=suspended.member_digests,
        claim=claim,
        payer_aliases=await repository.payer_aliases(claim.payer_id),
    )
    if findings and not force_reason:
        raise MatchRefused(findings)
    if force_reason:
        why = force_reason if not findings else f"{force_reason} (forced past: {MatchRefused(findings)})"
        await repository.record_review(suspended.id, state="suspense", reason=why, reviewer=reviewer)


async def check_patient_payment(
    session: AsyncSession, tenant: str, patient_id: uuid.UUID, *, currency: str, received_on: dt.date
) -> None:
    """A patient payment is taken only for a patient remittance knows (a claim of theirs was submitted), in
    the account's one currency, on a date between 1900 and today."""
    problem = date_problem(received_on, dt.date.today(), field="received_on")
    if problem is not None:
        raise MoneyRefused("received_on", problem)
    account_currency = await MoneyIntegrityRepository(session, tenant).account_currency(patient_id)
    if account_currency is None:
        raise NotFound("no account for this patient: remittance knows a patient once a claim of theirs is submitted")
    problem = currency_problem(account_currency, currency)
    if problem is not None:
        raise MoneyRefused("currency", problem)


async def release_held_payment(
    session: AsyncSession,
    outbox: Outbox,
    *,
    tenant: str,
    payment_id: uuid.UUID,
    reason: str,
    reviewer: str,
    today: dt.date | None = None,
) -> ClaimPaymentRecord:
    """A person finds a held payment is not a duplicate: it is posted to its claim like any payment, once."""
    today = today or dt.date.today()
    held = await _held_for_update(session, tenant, payment_id)
    claim = (await SubmittedClaimRepository(session, tenant).by_control_numbers([held.claim_control_number])).get(
        held.claim_control_number
    )
    if claim is None:
        raise PostingConflict("the claim of this payment is no longer known")
    posting = _Posting()
    _add_payment(posting, held.id, held.facts, claim, reversal_of=None)
    posting.entries.extend(await _stored_payment_netting(session, tenant, held, claim, held.facts))
    await ClaimPaymentRepository(session, tenant).mark_posted(held.id, claim=claim, reversal_of=None, facts=held.facts)
    await MoneyIntegrityRepository(session, tenant).record_review(
        held.id, state="posted", reason=reason, reviewer=reviewer
    )
    await LedgerRepository(session, tenant).copy_in(posting.entries, currency=held.currency, posted_on=today)
    await outbox.add_many(session, tenant=tenant, events=posting.events)
    await sync_refund_items(session, tenant, [claim.claim_id])
    released = await ClaimPaymentRepository(session, tenant).get_for_update(held.id)
    assert released is not None
    return released


async def reject_held_payment(
    session: AsyncSession, *, tenant: str, payment_id: uuid.UUID, reason: str, reviewer: str
) -> ClaimPaymentRecord:
    """A person confirms a held payment is a duplicate: it is never posted; the reason is kept."""
    held = await _held_for_update(session, tenant, payment_id)
    await MoneyIntegrityRepository(session, tenant).record_review(
        held.id, state="rejected", reason=reason, reviewer=reviewer
    )
    rejected = await ClaimPaymentRepository(session, tenant).get_for_update(held.id)
    assert rejected is not None
    return rejected


async def _held_for_update(session: AsyncSession, tenant: str, payment_id: uuid.UUID) -> ClaimPaymentRecord:
    held = await ClaimPaymentRepository(session, tenant).get_for_update(payment_id)
    if held is None:
        raise NotFound("claim payment not found")
    if held.state != "held":
        raise PostingConflict(f"this claim payment is {held.state}, not held for review")
    return held


async def resolve_refund_item(
    session: AsyncSession,
    *,
    tenant: str,
    item_id: uuid.UUID,
    resolution: str,
    reason: str,
    resolver: str,
    today: dt.date | None = None,
) -> RefundItem:
    """Close a refund work item: `refunded` posts the refund to the claim (its credit balance back to zero),
    `dismissed` posts nothing (say why)."""
    repository = MoneyIntegrityRepository(session, tenant)
    item = await repository.refund_item_for_update(item_id)
    if item is None:
        raise NotFound("refund item not found")
    if item.status != "open":
        raise PostingConflict(f"this refund item is already {item.status}")
    if resolution == "refunded":
        balances = await repository.open_balances([item.claim_id])
        credit = max(0, -balances[0].open_cents) if balances else 0
        if credit != item.credit_cents:
            raise PostingConflict(f"the claim's credit balance is now {credit} cents: reload the item")
        await LedgerRepository(session, tenant).add_if_new(
            [refund_entry(item.claim_id, item.id, credit)], currency=item.currency, posted_on=today or dt.date.today()
        )
    await repository.resolve_refund_item(item.id, status=resolution, reason=reason, resolver=resolver)
    resolved = await repository.refund_item_for_update(item.id)
    assert resolved is not None
    return resolved
