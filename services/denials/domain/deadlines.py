"""Due dates of a denial case: appeal windows by level from the remittance date, timely filing from the
date of service (a corrected claim is a claim, so it must arrive within the payer's filing limit).

Defaults when a tenant has not set a payer's calendar (``PayerCalendar``):
- Medicare (claim filing indicator MA/MB): redetermination 120 days, reconsideration 180 days,
  ALJ hearing 60 days (42 CFR 405.942, 405.962, 405.1014); timely filing 365 days from the date of
  service (42 CFR 424.44).
- Everyone else: 180 days for a first-level appeal (the floor ERISA plans must give, 29 CFR
  2560.503-1(h)(3)(i)), 60 days for the next levels, 90 days timely filing (a common commercial limit).
A case is ``near_due`` within ``near_days`` (14 by default) of its due date, ``overdue`` after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from services.denials.domain.classification import RecommendedAction

MEDICARE_INDICATORS = frozenset({"MA", "MB"})
NEAR_DUE_DAYS = 14


@dataclass(frozen=True, slots=True)
class PayerCalendar:
    appeal_days: tuple[int, ...] = (180, 60, 60)
    """Days to file an appeal of level 1, 2, 3... after the decision being appealed."""
    timely_filing_days: int = 90
    near_days: int = NEAR_DUE_DAYS
    underpayment_tolerance_cents: int = 100
    """An allowed amount this far below the contract (per line) is not worth a case."""
    notes: tuple[str, ...] = field(default=())

    def appeal_window(self, level: int) -> int:
        return self.appeal_days[min(max(level, 1), len(self.appeal_days)) - 1]


COMMERCIAL_DEFAULT = PayerCalendar()
MEDICARE_DEFAULT = PayerCalendar(appeal_days=(120, 180, 60), timely_filing_days=365)


def default_calendar(claim_filing_indicator: str | None = None) -> PayerCalendar:
    return MEDICARE_DEFAULT if (claim_filing_indicator or "").upper() in MEDICARE_INDICATORS else COMMERCIAL_DEFAULT


RESUBMISSIONS = frozenset(
    {RecommendedAction.CORRECTED_CLAIM, RecommendedAction.VOID, RecommendedAction.BILL_OTHER_PAYER}
)


def due_date(
    action: RecommendedAction,
    calendar: PayerCalendar,
    *,
    remitted_on: dt.date,
    service_date: dt.date | None,
    appeal_level: int = 1,
) -> dt.date:
    """A corrected or re-billed claim is due within timely filing from the date of service (when the
    service date is unknown, from the remittance date: conservative); anything else within the appeal
    window of its level from the remittance date."""
    if action in RESUBMISSIONS:
        return (service_date or remitted_on) + dt.timedelta(days=calendar.timely_filing_days)
    return remitted_on + dt.timedelta(days=calendar.appeal_window(appeal_level))


class DueFlag(StrEnum):
    ON_TIME = "on_time"
    NEAR_DUE = "near_due"
    OVERDUE = "overdue"


def due_flag(due: dt.date, today: dt.date, near_days: int = NEAR_DUE_DAYS) -> DueFlag:
    if today > due:
        return DueFlag.OVERDUE
    if (due - today).days <= near_days:
        return DueFlag.NEAR_DUE
    return DueFlag.ON_TIME
