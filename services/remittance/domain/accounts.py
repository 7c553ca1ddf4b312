"""Patient accounts: aging of what a patient owes, and payment plans. Pure functions, integer cents."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


@dataclass(frozen=True, slots=True)
class AccountEntry:
    posted_on: dt.date
    amount_cents: int
    """Positive: owed by the patient (patient responsibility); negative: paid or credited."""


@dataclass(frozen=True, slots=True)
class Aging:
    balance_cents: int
    buckets: dict[str, int]
    """What is still owed, by days since it became owed; credits pay the oldest debts first."""
    unapplied_credit_cents: int
    """Payments beyond every debt (a credit balance), not in any bucket."""


def aging(entries: Iterable[AccountEntry], today: dt.date) -> Aging:
    """Age a patient account: credits pay the oldest debits first (FIFO), what is left is bucketed.

    Always `sum(buckets) - unapplied_credit == balance`.
    """
    entries = list(entries)
    debits = sorted((e for e in entries if e.amount_cents > 0), key=lambda e: e.posted_on)
    credit = -sum(e.amount_cents for e in entries if e.amount_cents < 0)
    buckets = {name: 0 for name, _, _ in AGING_BUCKETS}
    for debit in debits:
        applied = min(credit, debit.amount_cents)
        credit -= applied
        remaining = debit.amount_cents - applied
        if remaining:
            buckets[bucket_of((today - debit.posted_on).days)] += remaining
    balance = sum(e.amount_cents for e in entries)
    return Aging(balance_cents=balance, buckets=buckets, unapplied_credit_cents=credit)


def bucket_of(days: int) -> str:
    for name, _, high in AGING_BUCKETS:
        if high is None or days <= high:
            return name
    raise AssertionError("unreachable: the last bucket is open-ended")


@dataclass(frozen=True, slots=True)
class Installment:
    number: int
    due_on: dt.date
    amount_cents: int


def installment_schedule(total_cents: int, count: int, first_due: dt.date) -> list[Installment]:
    """`count` monthly installments that add up to `total_cents` exactly.

    The cents that do not divide evenly go one each to the first installments, so no two
    installments differ by more than one cent. A day past the end of a month falls on its last day.
    """
    if total_cents <= 0:
        raise ValueError("a payment plan needs a positive balance")
    if not 1 <= count <= total_cents:
        raise ValueError(f"installments must be between 1 and {total_cents} (one cent each at least)")
    base, remainder = divmod(total_cents, count)
    return [
        Installment(number + 1, add_months(first_due, number), base + (1 if number < remainder else 0))
        for number in range(count)
    ]


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class MissedInstallment:
    installment: Installment
    shortfall_cents: int
    """What is still missing towards everything due up to and including this installment."""


def missed_installments(
    schedule: Sequence[Installment], paid_cents: int, today: dt.date, *, grace_days: int = 0
) -> list[MissedInstallment]:
    """Installments past due (after `grace_days`) that payments since the plan began do not cover.

    Payments count towards installments in order, so paying ahead covers later ones.
    """
    missed: list[MissedInstallment] = []
    due_so_far = 0
    for installment in schedule:
        due_so_far += installment.amount_cents
        if installment.due_on + dt.timedelta(days=grace_days) >= today:
            break
        if paid_cents < due_so_far:
            missed.append(MissedInstallment(installment, due_so_far - paid_cents))
    return missed
