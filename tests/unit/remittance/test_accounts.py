"""Patient accounts: aging buckets, installment schedules, missed installments."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.remittance.domain.accounts import (
    AccountEntry,
    Installment,
    add_months,
    aging,
    bucket_of,
    installment_schedule,
    missed_installments,
)

TODAY = dt.date(2026, 6, 30)


def _ago(days: int, cents: int) -> AccountEntry:
    return AccountEntry(TODAY - dt.timedelta(days=days), cents)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-3, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "90+")],
)
def test_bucket_edges(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def test_payments_pay_the_oldest_debt_first() -> None:
    result = aging([_ago(100, 5000), _ago(45, 3000), _ago(5, 2000), _ago(1, -6000)], TODAY)
    assert result.buckets == {"0-30": 2000, "31-60": 2000, "61-90": 0, "90+": 0}
    assert result.balance_cents == 4000 and result.unapplied_credit_cents == 0


def test_overpayment_is_an_unapplied_credit() -> None:
    result = aging([_ago(10, 1000), _ago(1, -1500)], TODAY)
    assert result.buckets == {"0-30": 0, "31-60": 0, "61-90": 0, "90+": 0}
    assert result.balance_cents == -500 and result.unapplied_credit_cents == 500


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(-50_000, 50_000)), max_size=30))
def test_buckets_minus_credit_always_equal_the_balance(raw: list[tuple[int, int]]) -> None:
    result = aging([_ago(days, cents) for days, cents in raw], TODAY)
    assert sum(result.buckets.values()) - result.unapplied_credit_cents == result.balance_cents
    assert all(value >= 0 for value in result.buckets.values()) and result.unapplied_credit_cents >= 0


@given(st.integers(1, 10_000_000), st.integers(1, 60), st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)))
def test_installments_sum_exactly_and_differ_by_at_most_a_cent(total: int, count: int, first: dt.date) -> None:
    if count > total:
        with pytest.raises(ValueError):
            installment_schedule(total, count, first)
        return
    schedule = installment_schedule(total, count, first)
    assert sum(i.amount_cents for i in schedule) == total
    assert max(i.amount_cents for i in schedule) - min(i.amount_cents for i in schedule) <= 1
    assert [i.number for i in schedule] == list(range(1, count + 1))
    assert all(a.due_on < b.due_on for a, b in itertools.pairwise(schedule))


def test_month_ends_are_clamped() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert [i.amount_cents for i in installment_schedule(1000, 3, dt.date(2026, 1, 31))] == [334, 333, 333]


def test_refuses_a_plan_without_a_balance() -> None:
    with pytest.raises(ValueError):
        installment_schedule(0, 3, TODAY)


def test_missed_installments_count_payments_in_order_and_honour_grace() -> None:
    schedule = [
        Installment(1, dt.date(2026, 4, 1), 100),
        Installment(2, dt.date(2026, 5, 1), 100),
        Installment(3, dt.date(2026, 6, 1), 100),
        Installment(4, dt.date(2026, 7, 1), 100),
    ]
    missed = missed_installments(schedule, 150, TODAY)
    assert [(m.installment.number, m.shortfall_cents) for m in missed] == [(2, 50), (3, 150)]
    assert missed_installments(schedule, 300, TODAY) == []
    assert missed_installments(schedule, 200, dt.date(2026, 6, 5), grace_days=10) == []
    assert [m.installment.number for m in missed_installments(schedule, 0, dt.date(2026, 4, 1))] == []
    assert [m.installment.number for m in missed_installments(schedule, 0, dt.date(2026, 4, 2))] == [1]
