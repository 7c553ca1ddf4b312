"""Denial KPIs, each defined once here with its source. Amounts are integer cents; rates are basis points
(1/100 of a percent) so they stay integers; a rate over nothing is None, never 0.

Sources: HFMA Claim Integrity Task Force (initial denial rate, overturn rate, denial to resolution
days) and HFMA MAP Keys (AR-5 remittance denial rate, AR-6 denial write-offs as % of net revenue).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    key: str
    formula: str
    source: str


INITIAL_DENIAL_RATE = KpiDefinition(
    "initial_denial_rate",
    "claims denied in full or in part on their first remittance / claims remitted, by count",
    "HFMA Claim Integrity Task Force, initial denial rate",
)
REMITTANCE_DENIAL_RATE_DOLLARS = KpiDefinition(
    "denied_dollar_rate",
    "dollars denied / dollars of claims submitted",
    "HFMA MAP Key AR-5 (remittance denial rate), dollar form",
)
OVERTURN_RATE = KpiDefinition(
    "overturn_rate",
    "cases resolved overturned or partially overturned / cases resolved (overturned, partially overturned, "
    "written off, transferred, voided)",
    "HFMA Claim Integrity Task Force, % of denials overturned",
)
DENIED_DOLLARS = KpiDefinition("denied_cents", "sum of denied amounts of cases opened in the range", "HFMA CITF")
RECOVERED_DOLLARS = KpiDefinition(
    "recovered_cents", "sum of amounts recovered by cases resolved in the range", "HFMA CITF"
)
WRITTEN_OFF_DOLLARS = KpiDefinition(
    "written_off_cents", "sum of denial write-offs posted in the range", "HFMA MAP Key AR-6 (denial write-offs)"
)
DAYS_TO_RESOLUTION = KpiDefinition(
    "average_days_to_resolution",
    "mean days from the denial (case opened) to its resolution, over cases resolved in the range",
    "HFMA Claim Integrity Task Force, denial to resolution days",
)
DEFINITIONS = (
    INITIAL_DENIAL_RATE,
    REMITTANCE_DENIAL_RATE_DOLLARS,
    OVERTURN_RATE,
    DENIED_DOLLARS,
    RECOVERED_DOLLARS,
    WRITTEN_OFF_DOLLARS,
    DAYS_TO_RESOLUTION,
)


def rate_basis_points(numerator: int, denominator: int) -> int | None:
    """numerator / denominator in basis points, rounded half up; None when nothing was counted."""
    if denominator <= 0:
        return None
    return (numerator * 10_000 * 2 + denominator) // (denominator * 2)


def average_days(total_days: int, count: int) -> float | None:
    """Mean days, to one decimal (days, not money: a float is fine here)."""
    return None if count == 0 else round(total_days / count, 1)
