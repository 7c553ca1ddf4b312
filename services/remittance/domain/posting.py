"""Posting arithmetic: an 835 claim payment read as facts, then as immutable ledger entries.

Pure functions, no I/O. Every ledger entry's `amount_cents` is its effect on its account's
balance, so an account's balance is the plain sum of its entries:

- claim account: charge +; payment -; adjustment (CAS CO/OA/PI) -; patient responsibility (CAS PR) -;
  what is left is the open balance, so `charge = paid + adjustments + patient responsibility + open`;
- patient account: patient responsibility +; patient payment -;
- provider account: PLB amounts as written (positive reduces what the payer sent).

A reversal (CLP02 22) never re-derives amounts from the file: it negates, one for one, the
entries of the payment it reverses, so it undoes exactly what was posted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from services.remittance.domain.remittance_advice import Claim, ClaimAdjustment, RemittanceAdvice
from shared.fast_init import fast_init

REVERSAL = "22"
DENIED = "4"
FORWARDED_TO_NEXT_PAYER = frozenset({"19", "20", "21"})
"""CLP02 19/20/21: processed as primary/secondary/tertiary and forwarded to the next payer (crossover)."""
PATIENT_RESPONSIBILITY = "PR"

DENIAL_CARCS = frozenset(
    "4 5 6 7 8 9 10 11 12 13 14 15 16 18 19 20 21 22 26 27 29 31 32 33 34 35 39 40 49 50 51 53 54 55 56 "
    "58 96 97 107 109 110 111 114 115 116 119 129 131 133 135 140 146 149 150 151 152 155 157 160 163 164 "
    "167 170 171 172 173 174 175 176 177 178 179 181 182 183 184 185 186 188 189 190 197 198 199 200 201 "
    "204 206 207 208 213 219 222 226 227 228 231 234 236 242 243 246 247 248 249 252 256 272 273 274 "
    "B1 B5 B7 B8 B9 B11 B12 B13 B14 B15 B16 B20 B22 B23".split()
)
"""CARCs that mean "not paid for a reason the biller can work" (eligibility, authorization, coding,
timely filing, duplicates, non-covered, medical necessity...), as opposed to contractual (45, 253),
deductible/coinsurance/copay (1, 2, 3) and prior-payer (23) adjustments."""

NextResponsible = Literal["secondary_payer", "patient", "none"]
AccountType = Literal["claim", "patient", "provider"]
EntryKind = Literal[
    "charge", "payment", "adjustment", "patient_responsibility", "patient_payment", "provider_adjustment"
]


@fast_init
@dataclass(frozen=True, slots=True)
class SubmittedLine:
    line_number: int
    line_control_number: str | None
    procedure_code: str
    modifiers: tuple[str, ...]
    charge_cents: int


@fast_init
@dataclass(frozen=True, slots=True)
class SubmittedClaim:
    """What `claim-submitted` told us about a claim: what an 835 claim payment is matched to."""

    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    patient_id: uuid.UUID | None
    total_charge_cents: int
    currency: str
    lines: tuple[SubmittedLine, ...]
    trace_headers: tuple[tuple[str, str], ...] = ()
    """W3C trace context of the claim's trace: the events posted for it continue that trace."""
    member_digest: str | None = None
    """Keyed digest of the subscriber's member id (shared/patient_match.py), never the id."""


@fast_init
@dataclass(frozen=True, slots=True)
class PaymentKey:
    """What makes a claim payment unique for a tenant: the same key twice is the same payment."""

    payer_id: str
    trace_number: str
    claim_control_number: str
    status_code: str
    occurrence: int
    """1 for the first claim with this CLP01 and CLP02 under this trace, 2 for the next..."""


@fast_init
@dataclass(frozen=True, slots=True)
class PostedAdjustment:
    group: str
    carc: str
    amount_cents: int
    line_index: int | None
    """Index of the SVC in the claim payment, None for a claim-level CAS."""


@fast_init
@dataclass(frozen=True, slots=True)
class PaidLine:
    line_number: int | None
    """Our line number (REF*6R or procedure + modifiers), None when it did not match."""
    procedure_code: str
    modifiers: tuple[str, ...]
    charge_cents: int
    paid_cents: int
    remark_codes: tuple[str, ...]
    control_number: str | None = None
    """REF*6R: our line item control number, echoed back by the payer."""
    match_by_order: bool = False
    """The payer's procedure composite was faulty (a parse warning says how): matched by REF*6R, else by
    the line's order in the claim, never by procedure."""


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimPaymentFacts:
    """One CLP loop as posting needs it."""

    key: PaymentKey
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    """Sum of the PR group adjustments (claim and lines); what the patient owes from this payment."""
    adjustments: tuple[PostedAdjustment, ...]
    lines: tuple[PaidLine, ...]
    remark_codes: tuple[str, ...]
    payer_claim_control_number: str
    paid_date: dt.date
    next_responsible: NextResponsible
    position: int
    member_ids: tuple[str, ...] = field(default=(), compare=False)
    """A payment matching no claim: the member ids its 835 names (NM1*QC, IL, 74), kept in memory only, digested
    before it is stored (the patient check of a later match by hand); not part of the facts' identity."""

    @property
    def is_reversal(self) -> bool:
        return self.key.status_code == REVERSAL

    def line_number_of(self, adjustment: PostedAdjustment) -> int | None:
        return None if adjustment.line_index is None else self.lines[adjustment.line_index].line_number


@fast_init
@dataclass(frozen=True, slots=True)
class EntryDraft:
    account_type: AccountType
    account_id: str
    kind: EntryKind
    amount_cents: int
    source_key: str
    """Unique per tenant: the database refuses a second entry from the same source."""
    group_code: str | None = None
    carc: str | None = None
    line_number: int | None = None
    reference: str | None = None
    reversal_of: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry already in the ledger (as needed to reverse it)."""

    id: int
    account_type: AccountType
    account_id: str
    kind: EntryKind
    amount_cents: int
    group_code: str | None
    carc: str | None
    line_number: int | None


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimBalance:
    """A claim ledger in the billing identity `charge = paid + adjustments + patient responsibility + open`."""

    charge_cents: int
    paid_cents: int
    adjustment_cents: int
    patient_responsibility_cents: int
    open_cents: int

    @property
    def balanced(self) -> bool:
        """The identity holds and nothing was paid beyond what was owed (no negative open balance)."""
        identity = self.charge_cents == (
            self.paid_cents + self.adjustment_cents + self.patient_responsibility_cents + self.open_cents
        )
        return identity and self.open_cents >= 0

    @property
    def credit_balance_cents(self) -> int:
        """Paid beyond what the claim was owed (a negative open balance), as a positive amount; else 0."""
        return max(0, -self.open_cents)


@fast_init
@dataclass(frozen=True, slots=True)
class DeniedLineFacts:
    line_number: int | None
    procedure_code: str
    denied_cents: int
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class Denial:
    scope: Literal["full", "partial"]
    denied_cents: int
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]
    lines: tuple[DeniedLineFacts, ...]


def payer_key(advice: RemittanceAdvice) -> str:
    """The payer of a remittance: TRN03 (the payer's identifier, required in 5010), else N1*PR's id or name."""
    return advice.trace.originating_company_id or advice.payer.id or advice.payer.name


def x12_date(value: str | None) -> dt.date | None:
    """CCYYMMDD as a date, None when absent or impossible (payers do send impossible dates)."""
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def read_claim_payments(
    advices: Sequence[RemittanceAdvice], *, today: dt.date, submitted: dict[str, SubmittedClaim] | None = None
) -> list[ClaimPaymentFacts]:
    """Every claim payment of a file, in file order, with its key and (when matched) our line numbers."""
    occurrences: Counter[tuple[str, str, str, str]] = Counter()
    facts: list[ClaimPaymentFacts] = []
    for advice in advices:
        payer = payer_key(advice)
        trace = advice.trace.trace_number
        paid_date = x12_date(advice.payment.payment_date) or x12_date(advice.production_date) or today
        for claim in advice.claims:
            identity = (payer, trace, claim.patient_control_number, claim.status)
            occurrences[identity] += 1
            key = PaymentKey(payer, trace, claim.patient_control_number, claim.status, occurrences[identity])
            match = (submitted or {}).get(claim.patient_control_number)
            facts.append(claim_payment_facts(claim, key, paid_date=paid_date, submitted=match))
    return facts


def claim_payment_facts(
    claim: Claim, key: PaymentKey, *, paid_date: dt.date, submitted: SubmittedClaim | None = None
) -> ClaimPaymentFacts:
    adjustments = [_posted(adjustment, None) for adjustment in claim.adjustments]
    lines: list[PaidLine] = []
    remarks: list[str] = []
    if claim.outpatient:
        remarks.extend(claim.outpatient.remark_codes)
    if claim.inpatient:
        remarks.extend(claim.inpatient.remark_codes)
    for index, line in enumerate(claim.lines):
        adjustments.extend(_posted(adjustment, index) for adjustment in line.adjustments)
        line_remarks = tuple(remark.code for remark in line.remarks if remark.qualifier == "HE")
        remarks.extend(line_remarks)
        procedure = line.submitted_procedure or line.procedure
        lines.append(
            PaidLine(
                line_number=None,
                procedure_code=procedure.code,
                modifiers=procedure.modifiers,
                charge_cents=line.charge_cents,
                paid_cents=line.paid_cents,
                remark_codes=line_remarks,
                control_number=line.control_number,
                match_by_order=line.procedure_unreliable and line.submitted_procedure is None,
            )
        )
    if submitted is not None:  # our line numbers, filled in before the facts are made (not made twice)
        lines = _numbered(lines, match_lines(lines, submitted.lines))
    patient_responsibility = sum(a.amount_cents for a in adjustments if a.group == PATIENT_RESPONSIBILITY)
    return ClaimPaymentFacts(
        key,
        claim.charge_cents,
        claim.paid_cents,
        patient_responsibility,
        tuple(adjustments),
        tuple(lines),
        tuple(dict.fromkeys(remarks)),
        claim.payer_claim_control_number,
        paid_date,
        next_responsible(claim, patient_responsibility),
        claim.position,
        () if submitted else _member_ids(claim),
    )


_MEMBER_NAMES = frozenset({"QC", "IL", "74"})
"""NM1 entities of loop 2100 that name the patient's or the insured's member id (74: the corrected insured)."""
_MEMBER_QUALIFIERS = frozenset({"MI", "II", "HN", "MR", "C"})
"""NM108 qualifiers of a member id (member, unique health id, HIC, Medicaid, changed id); not 34 (an SSN)."""


def _member_ids(claim: Claim) -> tuple[str, ...]:
    return tuple(
        name.id
        for name in claim.names
        if name.entity in _MEMBER_NAMES and name.id_qualifier in _MEMBER_QUALIFIERS and name.id
    )


def _posted(adjustment: ClaimAdjustment, line_index: int | None) -> PostedAdjustment:
    return PostedAdjustment(adjustment.group, adjustment.reason, adjustment.amount_cents, line_index)


def next_responsible(claim: Claim, patient_responsibility_cents: int) -> NextResponsible:
    """Who is billed next for what this payment left open.

    - a reversal: nobody (the corrected payment, if any, says);
    - CLP02 19/20/21 (forwarded to the next payer) or an NM1*TT crossover carrier: the secondary payer;
    - otherwise a positive patient responsibility (CAS PR): the patient;
    - otherwise nobody.
    Whether the patient has secondary coverage is not known to remittance; the claims service,
    which knows the coverage, may still bill a secondary payer when this says "patient".
    """
    if claim.status == REVERSAL:
        return "none"
    if claim.status in FORWARDED_TO_NEXT_PAYER or claim.name("TT") is not None:
        return "secondary_payer"
    if patient_responsibility_cents > 0:
        return "patient"
    return "none"


def match_lines(lines: Sequence[PaidLine], submitted: Sequence[SubmittedLine]) -> tuple[int | None, ...]:
    """Our line number for each paid line: by REF*6R line control number first, else by procedure +
    modifiers (SVC06, the procedure as submitted, when the payer changed it), or, for a line whose procedure
    composite was faulty, by its order in the claim; each of our lines matches once."""
    by_control = {line.line_control_number: line for line in submitted if line.line_control_number}
    taken: set[int] = set()
    result: list[int | None] = [None] * len(lines)
    for index, line in enumerate(lines):
        ours = by_control.get(line.control_number) if line.control_number else None
        if ours is not None and ours.line_number not in taken:
            result[index] = ours.line_number
            taken.add(ours.line_number)
    for index, line in enumerate(lines):
        if result[index] is not None:
            continue
        if line.match_by_order:
            in_order = submitted[index] if index < len(submitted) else None
            if in_order is not None and in_order.line_number not in taken:
                result[index] = in_order.line_number
                taken.add(in_order.line_number)
            continue
        for candidate in submitted:
            if (
                candidate.line_number not in taken
                and candidate.procedure_code == line.procedure_code
                and sorted(candidate.modifiers) == sorted(line.modifiers)
            ):
                result[index] = candidate.line_number
                taken.add(candidate.line_number)
                break
    return tuple(result)


def _numbered(lines: Sequence[PaidLine], numbers: Sequence[int | None]) -> list[PaidLine]:
    """The lines with our line numbers (direct construction: dataclasses.replace costs several times more)."""
    return [
        PaidLine(
            number,
            line.procedure_code,
            line.modifiers,
            line.charge_cents,
            line.paid_cents,
            line.remark_codes,
            line.control_number,
            line.match_by_order,
        )
        for line, number in zip(lines, numbers, strict=True)
    ]


def matched_to(facts: ClaimPaymentFacts, submitted: SubmittedClaim) -> ClaimPaymentFacts:
    """The facts with our line numbers filled in from the submitted claim."""
    return ClaimPaymentFacts(
        facts.key,
        facts.charge_cents,
        facts.paid_cents,
        facts.patient_responsibility_cents,
        facts.adjustments,
        tuple(_numbered(facts.lines, match_lines(facts.lines, submitted.lines))),
        facts.remark_codes,
        facts.payer_claim_control_number,
        facts.paid_date,
        facts.next_responsible,
        facts.position,
    )


def facts_to_json(facts: ClaimPaymentFacts) -> dict[str, Any]:
    """What is stored with a claim payment, so a suspended one can be posted later without the file."""
    key = facts.key
    return {
        "key": {
            "payer_id": key.payer_id,
            "trace_number": key.trace_number,
            "claim_control_number": key.claim_control_number,
            "status_code": key.status_code,
            "occurrence": key.occurrence,
        },
        "charge_cents": facts.charge_cents,
        "paid_cents": facts.paid_cents,
        "patient_responsibility_cents": facts.patient_responsibility_cents,
        "adjustments": [
            {"group": a.group, "carc": a.carc, "amount_cents": a.amount_cents, "line_index": a.line_index}
            for a in facts.adjustments
        ],
        "lines": [
            {
                "line_number": line.line_number,
                "procedure_code": line.procedure_code,
                "modifiers": list(line.modifiers),
                "charge_cents": line.charge_cents,
                "paid_cents": line.paid_cents,
                "remark_codes": list(line.remark_codes),
                "control_number": line.control_number,
                "match_by_order": line.match_by_order,
            }
            for line in facts.lines
        ],
        "remark_codes": list(facts.remark_codes),
        "payer_claim_control_number": facts.payer_claim_control_number,
        "paid_date": facts.paid_date.isoformat(),
        "next_responsible": facts.next_responsible,
        "position": facts.position,
    }


def facts_from_json(stored: dict[str, Any]) -> ClaimPaymentFacts:
    return ClaimPaymentFacts(
        key=PaymentKey(**stored["key"]),
        charge_cents=stored["charge_cents"],
        paid_cents=stored["paid_cents"],
        patient_responsibility_cents=stored["patient_responsibility_cents"],
        adjustments=tuple(PostedAdjustment(**a) for a in stored["adjustments"]),
        lines=tuple(
            PaidLine(**{**line, "modifiers": tuple(line["modifiers"]), "remark_codes": tuple(line["remark_codes"])})
            for line in stored["lines"]
        ),
        remark_codes=tuple(stored["remark_codes"]),
        payer_claim_control_number=stored["payer_claim_control_number"],
        paid_date=dt.date.fromisoformat(stored["paid_date"]),
        next_responsible=stored["next_responsible"],
        position=stored["position"],
    )


def charge_entry(claim_id: uuid.UUID, charge_cents: int) -> EntryDraft:
    """The claim's charge, posted once when the claim is submitted: its A/R starts then."""
    return EntryDraft("claim", str(claim_id), "charge", charge_cents, source_key=f"charge:{claim_id}")


def payment_entries(
    facts: ClaimPaymentFacts, *, payment_id: uuid.UUID, claim_id: uuid.UUID, patient_id: uuid.UUID | None
) -> list[EntryDraft]:
    """The entries of one (non-reversal) claim payment; zero amounts are not posted."""
    claim_account, payment = str(claim_id), str(payment_id)  # each UUID written as text once
    patient_account = None if patient_id is None else str(patient_id)
    entries: list[EntryDraft] = []
    if facts.paid_cents:
        entries.append(EntryDraft("claim", claim_account, "payment", -facts.paid_cents, f"{payment}:paid"))
    for index, adjustment in enumerate(facts.adjustments):
        if not adjustment.amount_cents:
            continue
        line_number = facts.line_number_of(adjustment)
        patient_share = adjustment.group == PATIENT_RESPONSIBILITY
        entries.append(
            EntryDraft(
                "claim",
                claim_account,
                "patient_responsibility" if patient_share else "adjustment",
                -adjustment.amount_cents,
                f"{payment}:{index}",
                adjustment.group,
                adjustment.carc,
                line_number,
            )
        )
        if patient_share and patient_account is not None:
            entries.append(
                EntryDraft(
                    "patient",
                    patient_account,
                    "patient_responsibility",
                    adjustment.amount_cents,
                    f"{payment}:{index}:patient",
                    adjustment.group,
                    adjustment.carc,
                    line_number,
                    claim_account,
                )
            )
    return entries


def reversal_entries(originals: Iterable[StoredEntry]) -> list[EntryDraft]:
    """The exact negation of every entry of the reversed payment, each tied to the entry it undoes."""
    return [
        EntryDraft(
            entry.account_type,
            entry.account_id,
            entry.kind,
            -entry.amount_cents,
            f"reversal:{entry.id}",
            group_code=entry.group_code,
            carc=entry.carc,
            line_number=entry.line_number,
            reversal_of=entry.id,
        )
        for entry in originals
    ]


def provider_entries(advice: RemittanceAdvice) -> list[EntryDraft]:
    """PLB adjustments (L6 interest, FB forward balance, WO/72 recoupment...) on the provider ledger."""
    payer, trace = payer_key(advice), advice.trace.trace_number
    return [
        EntryDraft(
            "provider",
            adjustment.provider_id,
            "provider_adjustment",
            adjustment.amount_cents,
            f"plb:{payer}:{trace}:{ordinal}",
            carc=adjustment.reason,
            reference=adjustment.reference or None,
        )
        for ordinal, adjustment in enumerate(advice.provider_adjustments, start=1)
    ]


def claim_balance(entries: Iterable[tuple[str, int]]) -> ClaimBalance:
    """A claim ledger's `(kind, amount_cents)` entries in the billing identity."""
    totals: Counter[str] = Counter()
    open_cents = 0
    for kind, amount in entries:
        totals[kind] += amount
        open_cents += amount
    return ClaimBalance(
        charge_cents=totals["charge"],
        paid_cents=-totals["payment"],
        adjustment_cents=-totals["adjustment"],
        patient_responsibility_cents=-totals["patient_responsibility"],
        open_cents=open_cents,
    )


def denial_of(facts: ClaimPaymentFacts) -> Denial | None:
    """A claim denied in full (nothing paid, CLP02 4 or CO/OA/PI adjustments), or in part (lines not
    paid with CO/OA/PI adjustments, or CO/OA/PI adjustments with a denial CARC). Reversals never are."""
    if facts.is_reversal or facts.charge_cents <= 0:
        return None
    payer_adjustments = [a for a in facts.adjustments if a.group != PATIENT_RESPONSIBILITY and a.amount_cents > 0]
    rarcs = facts.remark_codes
    if facts.paid_cents == 0 and (facts.key.status_code == DENIED or payer_adjustments):
        carcs = _codes(a.carc for a in payer_adjustments)
        denied_lines = tuple(
            DeniedLineFacts(
                line.line_number,
                line.procedure_code,
                sum(a.amount_cents for a in payer_adjustments if a.line_index == index),
                _codes(a.carc for a in payer_adjustments if a.line_index == index),
                line.remark_codes,
            )
            for index, line in enumerate(facts.lines)
        )
        denied = sum(a.amount_cents for a in payer_adjustments) or facts.charge_cents
        return Denial("full", denied, carcs, rarcs, denied_lines)
    lines: list[DeniedLineFacts] = []
    for index, line in enumerate(facts.lines):
        on_line = [a for a in payer_adjustments if a.line_index == index]
        if line.paid_cents == 0 and line.charge_cents > 0 and on_line:
            denied_on_line = on_line
        else:
            denied_on_line = [a for a in on_line if a.carc in DENIAL_CARCS]
        if denied_on_line:
            lines.append(
                DeniedLineFacts(
                    line.line_number,
                    line.procedure_code,
                    sum(a.amount_cents for a in denied_on_line),
                    _codes(a.carc for a in denied_on_line),
                    line.remark_codes,
                )
            )
    claim_level = [a for a in payer_adjustments if a.line_index is None and a.carc in DENIAL_CARCS]
    if not lines and not claim_level:
        return None
    denied = sum(line.denied_cents for line in lines) + sum(a.amount_cents for a in claim_level)
    carcs = _codes([a.carc for a in claim_level] + [carc for line in lines for carc in line.carcs])
    return Denial("partial", denied, carcs, rarcs, tuple(lines))


def _codes(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


@fast_init
@dataclass(frozen=True, slots=True)
class PostingResult:
    """What posting one file did: answered to the uploader, and kept with the file so that the same
    content sent again answers it unchanged."""

    remittance_id: uuid.UUID
    transactions: int
    claim_payments: int
    posted: int
    suspended: int
    duplicates: int
    provider_adjustments_posted: int
    paid_cents: int
    currency: str
    trace_numbers: tuple[str, ...]
    held: int = 0
    """Claim payments held as probable duplicates of payments already posted (for a person to review)."""

    def to_json(self) -> dict[str, object]:
        """`held` only when some were (files posted before holds existed stored no such key)."""
        return ({"held": self.held} if self.held else {}) | {
            "remittance_id": str(self.remittance_id),
            "transactions": self.transactions,
            "claim_payments": self.claim_payments,
            "posted": self.posted,
            "suspended": self.suspended,
            "duplicates": self.duplicates,
            "provider_adjustments_posted": self.provider_adjustments_posted,
            "paid_cents": self.paid_cents,
            "currency": self.currency,
            "trace_numbers": list(self.trace_numbers),
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> PostingResult:
        return cls(
            remittance_id=uuid.UUID(stored["remittance_id"]),
            transactions=stored["transactions"],
            claim_payments=stored["claim_payments"],
            posted=stored["posted"],
            suspended=stored["suspended"],
            duplicates=stored["duplicates"],
            provider_adjustments_posted=stored["provider_adjustments_posted"],
            paid_cents=stored["paid_cents"],
            currency=stored["currency"],
            trace_numbers=tuple(stored["trace_numbers"]),
            held=stored.get("held", 0),
        )
