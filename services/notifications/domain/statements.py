"""Patient statements: what a patient owes once insurance is done with a claim, which notice the next
statement is (first statement, 30/60/90 days past due, final notice, or a plan's installment reminder),
and the statement cycle that allows at most one per patient. Pure functions over integer cents."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal["statement", "past_due_30", "past_due_60", "past_due_90", "final_notice", "installment_reminder"]
NextResponsible = Literal["secondary_payer", "patient", "none"]

DUNNING_STAGES: tuple[tuple[int, Stage], ...] = (
    (120, "final_notice"),
    (90, "past_due_90"),
    (60, "past_due_60"),
    (30, "past_due_30"),
)
"""Days past the due date of the first unpaid statement → the notice sent; the first match wins."""


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    message: str


STAGE_WORDING: dict[Stage, Wording] = {
    "statement": Wording(
        "Statement",
        "Your insurance has processed the visits below. This is the amount that remains yours to pay.",
    ),
    "past_due_30": Wording(
        "Reminder: payment past due",
        "We have not received payment for the balance below, now more than 30 days past due. "
        "Please pay it or contact us to set up a payment plan.",
    ),
    "past_due_60": Wording(
        "Second notice: payment 60 days past due",
        "Your balance is more than 60 days past due. Please pay it now, or call us to arrange a payment plan "
        "or to ask about financial assistance.",
    ),
    "past_due_90": Wording(
        "Third notice: payment 90 days past due",
        "Your balance is more than 90 days past due. Please pay it, or contact us within 30 days, "
        "to avoid further collection steps.",
    ),
    "final_notice": Wording(
        "Final notice",
        "This is the final notice for the balance below. If it is not paid or arranged by the due date, the "
        "account may be referred for collection. You may still apply for financial assistance before then.",
    ),
    "installment_reminder": Wording(
        "Payment plan: installment reminder",
        "Thank you for paying on a payment plan. Your next installment is shown below.",
    ),
}


@dataclass(frozen=True, slots=True)
class StatementPolicy:
    """The tenant's statement cycle: at most one statement per patient per cycle of `cycle_days` counted from
    `cycle_anchor`, and never two closer than `min_days_between`."""

    cycle_days: int = 30
    cycle_anchor: dt.date = dt.date(2026, 1, 1)
    due_days: int = 30
    """A first statement is due this many days after its date."""
    notice_due_days: int = 15
    """A past-due notice is due this many days after its date."""
    min_days_between: int = 25

    def __post_init__(self) -> None:
        if self.cycle_days < 1 or self.due_days < 0 or self.notice_due_days < 0 or self.min_days_between < 0:
            raise ValueError("statement cycle, due days and spacing must be positive")

    def cycle_of(self, day: dt.date) -> int:
        return (day - self.cycle_anchor).days // self.cycle_days


@dataclass(frozen=True, slots=True)
class Visit:
    """One coded encounter: when it happened and whether a secondary payer is billed after the primary."""

    encounter_id: uuid.UUID
    service_date: dt.date
    expects_secondary: bool


@dataclass(frozen=True, slots=True)
class ClaimCharge:
    claim_id: uuid.UUID
    encounter_id: uuid.UUID
    claim_control_number: str
    charge_cents: int
    currency: str
    procedure_codes: tuple[str, ...]
    submitted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Adjudication:
    """One `payment-received` of a claim: what insurance paid and left to the patient."""

    payment_id: uuid.UUID
    claim_id: uuid.UUID
    charge_cents: int
    paid_cents: int
    patient_responsibility_cents: int
    next_responsible: NextResponsible
    paid_date: dt.date
    reversal_of: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class PatientPayment:
    payment_id: uuid.UUID
    amount_cents: int
    received_on: dt.date


@dataclass(frozen=True, slots=True)
class Installment:
    number: int
    due_on: dt.date
    amount_cents: int


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    plan_id: uuid.UUID
    status: Literal["active", "completed", "cancelled"]
    installments: tuple[Installment, ...]
    changed_on: dt.date


@dataclass(frozen=True, slots=True)
class PriorStatement:
    cycle: int
    stage: Stage
    statement_date: dt.date
    due_date: dt.date


@dataclass(frozen=True, slots=True)
class PatientLedger:
    """Everything notifications heard about one patient's account."""

    patient_id: uuid.UUID
    visits: tuple[Visit, ...] = ()
    claims: tuple[ClaimCharge, ...] = ()
    adjudications: tuple[Adjudication, ...] = ()
    payments: tuple[PatientPayment, ...] = ()
    plan: PaymentPlan | None = None
    statements: tuple[PriorStatement, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One visit: charge = insurance paid + insurance adjusted + patient owes, to the cent."""

    claim_control_number: str
    service_date: dt.date | None
    description: str
    charge_cents: int
    insurance_paid_cents: int
    insurance_adjusted_cents: int
    patient_owes_cents: int


@dataclass(frozen=True, slots=True)
class PaymentLine:
    received_on: dt.date
    amount_cents: int


@dataclass(frozen=True, slots=True)
class StatementDraft:
    """The next statement of one patient, before it is numbered and stored."""

    patient_id: uuid.UUID
    cycle: int
    stage: Stage
    statement_date: dt.date
    due_date: dt.date
    currency: str
    lines: tuple[StatementLine, ...]
    payments: tuple[PaymentLine, ...]
    balance_cents: int
    amount_due_cents: int
    """The balance, or for an installment reminder what is due by the next installment."""
    pending_claims: int = 0
    """Claims still with a payer: not billed yet, named so the patient knows more may follow."""
    installment: Installment | None = None

    @property
    def charges_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    @property
    def insurance_paid_cents(self) -> int:
        return sum(line.insurance_paid_cents for line in self.lines)

    @property
    def insurance_adjusted_cents(self) -> int:
        return sum(line.insurance_adjusted_cents for line in self.lines)

    @property
    def patient_owes_cents(self) -> int:
        return sum(line.patient_owes_cents for line in self.lines)

    @property
    def payments_cents(self) -> int:
        return sum(payment.amount_cents for payment in self.payments)


@dataclass(frozen=True, slots=True)
class SettledAccount:
    lines: tuple[StatementLine, ...]
    pending_claims: int
    currency: str = "USD"
    owed_cents: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "owed_cents", sum(line.patient_owes_cents for line in self.lines))


def settle(
    visits: Iterable[Visit], claims: Iterable[ClaimCharge], adjudications: Iterable[Adjudication]
) -> SettledAccount:
    """The patient's share of every visit insurance is done with, one line per visit.

    A visit's claims (the primary's, then a secondary's built from its remittance) each count by their
    latest standing adjudication (reversed payments and their reversals set aside). A visit is pending,
    and bills nothing yet, while a claim has no standing adjudication, while the last one says a secondary
    payer is next, or while a secondary coverage has still to be billed for what the primary left; and
    while the encounter itself is unknown here. Settled, the patient owes what the last payer left;
    insurance paid is what every payer paid; insurance adjusted is the rest of the charge, so each line
    balances to the cent.
    """
    adjudications = list(adjudications)
    reversed_ids = {a.reversal_of for a in adjudications if a.reversal_of is not None}
    standing: dict[uuid.UUID, Adjudication] = {}
    for adjudication in sorted(adjudications, key=lambda a: a.paid_date):
        if adjudication.reversal_of is None and adjudication.payment_id not in reversed_ids:
            standing[adjudication.claim_id] = adjudication
    by_visit: dict[uuid.UUID, list[ClaimCharge]] = {}
    for claim in sorted(claims, key=lambda c: c.submitted_at):
        by_visit.setdefault(claim.encounter_id, []).append(claim)
    known = {visit.encounter_id: visit for visit in visits}
    lines: list[tuple[dt.date, StatementLine]] = []
    pending = 0
    currencies: set[str] = set()
    for encounter_id, visit_claims in by_visit.items():
        visit = known.get(encounter_id)
        results = [standing.get(claim.claim_id) for claim in visit_claims]
        last = results[-1]
        if (
            visit is None
            or last is None
            or any(result is None for result in results)
            or last.next_responsible == "secondary_payer"
            or (visit.expects_secondary and len(visit_claims) == 1 and last.patient_responsibility_cents > 0)
        ):
            pending += 1
            continue
        if last.patient_responsibility_cents <= 0:
            continue
        first = visit_claims[0]
        paid = sum(result.paid_cents for result in results if result is not None)
        currencies.add(first.currency)
        lines.append(
            (
                visit.service_date,
                StatementLine(
                    claim_control_number=first.claim_control_number,
                    service_date=visit.service_date,
                    description=", ".join(first.procedure_codes) or "Services",
                    charge_cents=first.charge_cents,
                    insurance_paid_cents=paid,
                    insurance_adjusted_cents=first.charge_cents - paid - last.patient_responsibility_cents,
                    patient_owes_cents=last.patient_responsibility_cents,
                ),
            )
        )
    if len(currencies) > 1:
        raise ValueError(f"one statement cannot bill several currencies {sorted(currencies)}")
    ordered = tuple(line for _, line in sorted(lines, key=lambda pair: (pair[0], pair[1].claim_control_number)))
    return SettledAccount(ordered, pending, currencies.pop() if currencies else "USD")


def dunning_stage(days_past_due: int) -> Stage:
    for days, stage in DUNNING_STAGES:
        if days_past_due >= days:
            return stage
    return "statement"


def next_installment(plan: PaymentPlan, paid_since_plan_cents: int) -> tuple[Installment, int] | None:
    """The first installment payments since the plan began do not cover, and what is due up to it."""
    due_so_far = 0
    for installment in sorted(plan.installments, key=lambda i: i.number):
        due_so_far += installment.amount_cents
        if paid_since_plan_cents < due_so_far:
            return installment, due_so_far - paid_since_plan_cents
    return None


def next_statement(ledger: PatientLedger, as_of: dt.date, policy: StatementPolicy) -> StatementDraft | None:
    """The statement this patient gets in a run on `as_of`, or None.

    None when nothing settled is owed, when this cycle already has a statement (or the last one is closer
    than the policy allows), or after a final notice (the account is then staff's to work). An active plan
    with an installment outstanding replaces dunning with an installment reminder. The dunning clock runs
    from the due date of the first statement dated after the patient's last payment, so any payment stops
    the escalation and a full payment stops statements.
    """
    cycle = policy.cycle_of(as_of)
    statements = sorted(ledger.statements, key=lambda s: s.statement_date)
    if any(s.cycle == cycle for s in statements):
        return None
    if statements and (as_of - statements[-1].statement_date).days < policy.min_days_between:
        return None
    account = settle(ledger.visits, ledger.claims, ledger.adjudications)
    payments = tuple(sorted(ledger.payments, key=lambda p: p.received_on))
    paid = sum(p.amount_cents for p in payments)
    balance = account.owed_cents - paid
    if balance <= 0:
        return None

    def draft(
        stage: Stage, due_date: dt.date, amount_due: int, installment: Installment | None = None
    ) -> StatementDraft:
        return StatementDraft(
            patient_id=ledger.patient_id,
            cycle=cycle,
            stage=stage,
            statement_date=as_of,
            due_date=due_date,
            currency=account.currency,
            lines=account.lines,
            payments=tuple(PaymentLine(p.received_on, p.amount_cents) for p in payments),
            balance_cents=balance,
            amount_due_cents=amount_due,
            pending_claims=account.pending_claims,
            installment=installment,
        )

    plan = ledger.plan
    if plan is not None and plan.status == "active":
        paid_since_plan = sum(p.amount_cents for p in payments if p.received_on >= plan.changed_on)
        upcoming = next_installment(plan, paid_since_plan)
        if upcoming is not None:
            installment, due = upcoming
            return draft("installment_reminder", installment.due_on, min(due, balance), installment)
    last_payment = payments[-1].received_on if payments else None
    dunning = [
        s
        for s in statements
        if s.stage != "installment_reminder"
        and (last_payment is None or s.statement_date > last_payment)
        and (plan is None or s.statement_date > plan.changed_on)
    ]
    if any(s.stage == "final_notice" for s in dunning):
        return None
    if not dunning:
        return draft("statement", as_of + dt.timedelta(days=policy.due_days), balance)
    stage = dunning_stage((as_of - dunning[0].due_date).days)
    days = policy.due_days if stage == "statement" else policy.notice_due_days
    return draft(stage, as_of + dt.timedelta(days=days), balance)


def statement_runs_for(
    ledgers: Iterable[PatientLedger], as_of: dt.date, policy: StatementPolicy
) -> list[StatementDraft]:
    return [draft for ledger in ledgers if (draft := next_statement(ledger, as_of, policy)) is not None]


def mask_account(patient_id: uuid.UUID) -> str:
    """The account reference printed on a statement: enough to find the account, no member id or SSN."""
    return "PA-" + patient_id.hex[:10].upper()
