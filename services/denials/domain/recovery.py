"""What working a case is worth: expected recovery = p(overturn) x amount - cost to work it.

No open system ranks denials by value; the queue does, then by due date (earliest first), so a
biller's next case is the one that brings the most money before its window closes.
"""

from __future__ import annotations

import datetime as dt

DEFAULT_COST_TO_WORK_CENTS = 2_500
"""Cost to rework one denied claim, default $25 (the figure quoted for physician practices; hospitals
quote more). A tenant can set its own per payer."""


def expected_recovery_cents(amount_cents: int, overturn_basis_points: int, cost_to_work_cents: int) -> int:
    """Integer cents, rounded down; negative when a case costs more to work than it can bring."""
    return amount_cents * overturn_basis_points // 10_000 - cost_to_work_cents


def queue_key(expected_cents: int, due: dt.date) -> tuple[int, dt.date]:
    """Sort key of the work queue: highest expected recovery first, then the earliest due date."""
    return (-expected_cents, due)
