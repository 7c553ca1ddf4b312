"""835 balancing: the arithmetic a remittance must satisfy before it is posted.

- per service line: SVC02 charge - SVC03 paid = sum of the line's CAS amounts;
- per claim: CLP03 charge - CLP04 paid = sum of claim-level and line-level CAS amounts;
- per transaction: sum of CLP04 - sum of PLB amounts = BPR02.

A remittance that parses but does not balance cannot be posted to the cent; the findings
say which claim and which segment, so a biller can work it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from services.remittance.domain.remittance_advice import RemittanceAdvice

BalanceRule = Literal["service_line", "claim", "transaction"]


@dataclass(frozen=True, slots=True)
class BalanceFinding:
    """One failed balancing rule. `expected_cents` is what the adjustments/payments should add up to."""

    rule: BalanceRule
    clp01: str | None
    position: int
    expected_cents: int
    actual_cents: int
    message: str


def balance_findings(advice: RemittanceAdvice) -> list[BalanceFinding]:
    """Every balancing rule that one 835 transaction set breaks; empty when it balances."""
    findings: list[BalanceFinding] = []
    paid_total = 0
    for claim in advice.claims:
        paid_total += claim.paid_cents
        adjusted = sum(adjustment.amount_cents for adjustment in claim.adjustments)
        for line in claim.lines:
            line_adjusted = sum(adjustment.amount_cents for adjustment in line.adjustments)
            adjusted += line_adjusted
            line_expected = line.charge_cents - line.paid_cents
            if line_adjusted != line_expected:
                findings.append(
                    BalanceFinding(
                        rule="service_line",
                        clp01=claim.patient_control_number,
                        position=line.position,
                        expected_cents=line_expected,
                        actual_cents=line_adjusted,
                        message=(
                            f"service line {line.procedure.code} of claim {claim.patient_control_number}: "
                            f"charge {_money(line.charge_cents)} - paid {_money(line.paid_cents)} = "
                            f"{_money(line_expected)} but its adjustments add up to {_money(line_adjusted)}"
                        ),
                    )
                )
        expected = claim.charge_cents - claim.paid_cents
        if adjusted != expected:
            findings.append(
                BalanceFinding(
                    rule="claim",
                    clp01=claim.patient_control_number,
                    position=claim.position,
                    expected_cents=expected,
                    actual_cents=adjusted,
                    message=(
                        f"claim {claim.patient_control_number}: charge {_money(claim.charge_cents)} - "
                        f"paid {_money(claim.paid_cents)} = {_money(expected)} but claim and line "
                        f"adjustments add up to {_money(adjusted)}"
                    ),
                )
            )
    provider_total = advice.provider_adjustment_total_cents
    computed = paid_total - provider_total
    if computed != advice.payment.amount_cents:
        findings.append(
            BalanceFinding(
                rule="transaction",
                clp01=None,
                position=advice.payment.position,
                expected_cents=advice.payment.amount_cents,
                actual_cents=computed,
                message=(
                    f"transaction {advice.control_number} (trace {advice.trace.trace_number}): claim payments "
                    f"{_money(paid_total)} - provider adjustments {_money(provider_total)} = "
                    f"{_money(computed)} but BPR02 is {_money(advice.payment.amount_cents)}"
                ),
            )
        )
    return findings


def balance_report(advices: Iterable[RemittanceAdvice]) -> list[BalanceFinding]:
    """Findings of every transaction set of a file, in file order."""
    return [finding for advice in advices for finding in balance_findings(advice)]


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
