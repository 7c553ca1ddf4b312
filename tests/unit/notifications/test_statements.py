"""Statement arithmetic and the dunning cycle, without servers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from services.notifications.domain.statements import (
    Adjudication,
    ClaimCharge,
    Installment,
    NextResponsible,
    PatientLedger,
    PatientPayment,
    PaymentPlan,
    PriorStatement,
    StatementDraft,
    StatementPolicy,
    Visit,
    dunning_stage,
    next_statement,
    settle,
)

POLICY = StatementPolicy(cycle_days=30, cycle_anchor=dt.date(2026, 1, 1), due_days=30, notice_due_days=15)
DAY0 = dt.date(2026, 12, 1)
PATIENT = uuid.UUID(int=1)


def visit(encounter: int, *, secondary: bool = False) -> Visit:
    return Visit(uuid.UUID(int=1000 + encounter), dt.date(2026, 11, 2), secondary)


def claim(number: int, encounter: int, charge: int = 12500, *, minutes: int = 0) -> ClaimCharge:
    return ClaimCharge(
        claim_id=uuid.UUID(int=number),
        encounter_id=uuid.UUID(int=1000 + encounter),
        claim_control_number=f"CLM{number:04d}",
        charge_cents=charge,
        currency="USD",
        procedure_codes=("99213",),
        submitted_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes),
    )


def paid(
    number: int,
    paid_cents: int,
    owes: int,
    nxt: NextResponsible = "patient",
    *,
    payment: int | None = None,
    reversal_of: int | None = None,
) -> Adjudication:
    return Adjudication(
        payment_id=uuid.UUID(int=500 + (payment if payment is not None else number)),
        claim_id=uuid.UUID(int=number),
        charge_cents=12500,
        paid_cents=paid_cents,
        patient_responsibility_cents=owes,
        next_responsible=nxt,
        paid_date=dt.date(2026, 11, 20),
        reversal_of=uuid.UUID(int=500 + reversal_of) if reversal_of is not None else None,
    )


def ledger(**parts: Any) -> PatientLedger:
    base = PatientLedger(PATIENT, visits=(visit(1),), claims=(claim(1, 1),), adjudications=(paid(1, 8000, 2000),))
    return dataclasses.replace(base, **parts)


def run(patient: PatientLedger, day: dt.date) -> StatementDraft | None:
    return next_statement(patient, day, POLICY)


def issued(draft: StatementDraft) -> PriorStatement:
    return PriorStatement(draft.cycle, draft.stage, draft.statement_date, draft.due_date)


def test_a_settled_visit_bills_the_patient_share_and_every_line_balances() -> None:
    draft = run(ledger(), DAY0)
    assert draft is not None and draft.stage == "statement"
    (line,) = draft.lines
    assert (line.charge_cents, line.insurance_paid_cents, line.insurance_adjusted_cents, line.patient_owes_cents) == (
        12500, 8000, 2500, 2000,
    )  # fmt: skip
    assert line.charge_cents == line.insurance_paid_cents + line.insurance_adjusted_cents + line.patient_owes_cents
    assert draft.balance_cents == draft.amount_due_cents == 2000
    assert draft.due_date == DAY0 + dt.timedelta(days=30)


def test_nothing_is_billed_while_insurance_is_pending() -> None:
    assert run(ledger(adjudications=()), DAY0) is None  # never adjudicated
    assert run(ledger(adjudications=(paid(1, 8000, 2000, "secondary_payer"),)), DAY0) is None
    # a secondary coverage the primary's remittance has not reached yet: claims will bill it
    assert run(ledger(visits=(visit(1, secondary=True),)), DAY0) is None
    # the encounter itself not heard of yet: not billed
    assert run(ledger(visits=()), DAY0) is None


def test_after_the_secondary_pays_the_patient_owes_what_it_left() -> None:
    patient = ledger(
        visits=(visit(1, secondary=True),),
        claims=(claim(1, 1), claim(2, 1, minutes=5)),
        adjudications=(paid(1, 8000, 2000), paid(2, 1500, 500)),
    )
    draft = run(patient, DAY0)
    assert draft is not None
    (line,) = draft.lines
    assert (line.insurance_paid_cents, line.insurance_adjusted_cents, line.patient_owes_cents) == (9500, 2500, 500)
    # and while the secondary claim waits for its remittance, nothing
    assert run(ledger(visits=patient.visits, claims=patient.claims, adjudications=(paid(1, 8000, 2000),)), DAY0) is None


def test_a_reversed_payment_no_longer_counts() -> None:
    patient = ledger(adjudications=(paid(1, 8000, 2000), paid(1, -8000, -2000, "none", payment=9, reversal_of=1)))
    assert run(patient, DAY0) is None


def test_pending_visits_beside_a_settled_one_are_counted_not_billed() -> None:
    patient = ledger(visits=(visit(1), visit(2)), claims=(claim(1, 1), claim(2, 2)))
    draft = run(patient, DAY0)
    assert draft is not None and draft.pending_claims == 1 and draft.balance_cents == 2000


def test_one_statement_per_cycle() -> None:
    first = run(ledger(), DAY0)
    assert first is not None
    again_same_cycle = run(ledger(statements=(issued(first),)), DAY0 + dt.timedelta(days=1))
    assert POLICY.cycle_of(DAY0) == POLICY.cycle_of(DAY0 + dt.timedelta(days=1))
    assert again_same_cycle is None


def test_dunning_escalates_at_30_60_90_days_past_due_then_a_final_notice_then_stops() -> None:
    history: list[PriorStatement] = []
    stages = []
    day = DAY0
    for _ in range(8):
        draft = run(ledger(statements=tuple(history)), day)
        stages.append(draft.stage if draft else None)
        if draft:
            history.append(issued(draft))
        day += dt.timedelta(days=30)
    assert stages == [
        "statement",  # due day 30
        "statement",  # day 30: due today
        "past_due_30",  # day 60
        "past_due_60",
        "past_due_90",
        "final_notice",
        None,  # after a final notice the account is staff's
        None,
    ]


def test_a_payment_stops_the_escalation_and_paying_in_full_stops_statements() -> None:
    first = run(ledger(), DAY0)
    assert first is not None
    late = DAY0 + dt.timedelta(days=60)
    notice = run(ledger(statements=(issued(first),)), late)
    assert notice is not None and notice.stage == "past_due_30"
    history = (issued(first), issued(notice))
    partial = PatientPayment(uuid.uuid4(), 500, late + dt.timedelta(days=3))
    after = run(ledger(statements=history, payments=(partial,)), late + dt.timedelta(days=30))
    assert after is not None and after.stage == "statement" and after.balance_cents == 1500
    assert after.payments[0].amount_cents == 500 and after.payments_cents == 500
    full = PatientPayment(uuid.uuid4(), 2000, late + dt.timedelta(days=3))
    assert run(ledger(statements=history, payments=(full,)), late + dt.timedelta(days=30)) is None


def test_an_active_plan_replaces_dunning_with_installment_reminders() -> None:
    first = run(ledger(), DAY0)
    assert first is not None
    plan = PaymentPlan(
        uuid.uuid4(),
        "active",
        (Installment(1, DAY0 + dt.timedelta(days=40), 1000), Installment(2, DAY0 + dt.timedelta(days=70), 1000)),
        changed_on=DAY0 + dt.timedelta(days=10),
    )
    day = DAY0 + dt.timedelta(days=90)  # would be past_due_60 without the plan
    reminder = run(ledger(statements=(issued(first),), plan=plan), day)
    assert reminder is not None and reminder.stage == "installment_reminder"
    assert reminder.installment is not None and reminder.installment.number == 1
    assert reminder.amount_due_cents == 1000 and reminder.balance_cents == 2000
    paid_first = PatientPayment(uuid.uuid4(), 1000, DAY0 + dt.timedelta(days=41))
    second = run(
        ledger(statements=(issued(first), issued(reminder)), plan=plan, payments=(paid_first,)),
        day + dt.timedelta(days=30),
    )
    assert second is not None and second.installment is not None and second.installment.number == 2
    assert second.amount_due_cents == 1000 and second.balance_cents == 1000
    cancelled = PaymentPlan(plan.plan_id, "cancelled", plan.installments, plan.changed_on)
    resumed = run(ledger(statements=(issued(first), issued(reminder)), plan=cancelled), day + dt.timedelta(days=30))
    assert resumed is not None and resumed.stage == "statement"  # dunning restarts after the plan


@pytest.mark.parametrize(
    ("days", "stage"),
    [(-5, "statement"), (0, "statement"), (29, "statement"), (30, "past_due_30"), (59, "past_due_30"),
     (60, "past_due_60"), (90, "past_due_90"), (119, "past_due_90"), (120, "final_notice")],
)  # fmt: skip
def test_dunning_stage_thresholds(days: int, stage: str) -> None:
    assert dunning_stage(days) == stage


def test_settle_refuses_mixed_currencies() -> None:
    euro = ClaimCharge(
        uuid.UUID(int=2), uuid.UUID(int=1002), "CLM0002", 100, "EUR", ("99213",), claim(1, 1).submitted_at
    )
    with pytest.raises(ValueError, match="several currencies"):
        settle((visit(1), visit(2)), (claim(1, 1), euro), (paid(1, 8000, 2000), paid(2, 0, 100)))
