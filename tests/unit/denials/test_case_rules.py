"""Deadlines, ranking, underpayments, case transitions and KPI arithmetic: pure rules, no servers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.denials.domain.classification import RecommendedAction
from services.denials.domain.deadlines import (
    COMMERCIAL_DEFAULT,
    MEDICARE_DEFAULT,
    DueFlag,
    default_calendar,
    due_date,
    due_flag,
)
from services.denials.domain.denial_case import (
    ActionKind,
    CaseNotWorkable,
    DenialCaseStatus,
    outcome_of_payment,
    outcome_of_repeated_denial,
    status_after_action,
)
from services.denials.domain.kpis import DEFINITIONS, average_days, rate_basis_points
from services.denials.domain.recovery import expected_recovery_cents, queue_key
from services.denials.domain.underpayment import (
    ContractFileError,
    ContractRate,
    RemittedLine,
    parse_contract_csv,
    underpaid_lines,
)

REMITTED = dt.date(2026, 11, 2)
SERVED = dt.date(2026, 10, 1)


def test_medicare_redetermination_is_120_days_from_the_remittance() -> None:
    assert default_calendar("MB") is MEDICARE_DEFAULT and default_calendar("CI") is COMMERCIAL_DEFAULT
    due = due_date(RecommendedAction.APPEAL, MEDICARE_DEFAULT, remitted_on=REMITTED, service_date=SERVED)
    assert due == REMITTED + dt.timedelta(days=120)
    second = due_date(
        RecommendedAction.APPEAL, MEDICARE_DEFAULT, remitted_on=REMITTED, service_date=SERVED, appeal_level=2
    )
    assert second == REMITTED + dt.timedelta(days=180)


def test_a_corrected_claim_is_due_within_timely_filing_from_the_date_of_service() -> None:
    due = due_date(RecommendedAction.CORRECTED_CLAIM, COMMERCIAL_DEFAULT, remitted_on=REMITTED, service_date=SERVED)
    assert due == SERVED + dt.timedelta(days=90)
    unknown = due_date(RecommendedAction.VOID, COMMERCIAL_DEFAULT, remitted_on=REMITTED, service_date=None)
    assert unknown == REMITTED + dt.timedelta(days=90)


def test_cases_near_or_past_their_due_date_are_flagged() -> None:
    due = dt.date(2026, 12, 1)
    assert due_flag(due, dt.date(2026, 11, 1)) is DueFlag.ON_TIME
    assert due_flag(due, dt.date(2026, 11, 17)) is DueFlag.NEAR_DUE
    assert due_flag(due, due) is DueFlag.NEAR_DUE
    assert due_flag(due, dt.date(2026, 12, 2)) is DueFlag.OVERDUE


def test_the_queue_ranks_by_expected_recovery_then_due_date() -> None:
    assert expected_recovery_cents(100_000, 5_000, 2_500) == 47_500
    assert expected_recovery_cents(1_000, 1_000, 2_500) == -2_400
    cases = [(47_500, dt.date(2026, 12, 5)), (47_500, dt.date(2026, 12, 1)), (90_000, dt.date(2027, 3, 1))]
    assert sorted(cases, key=lambda c: queue_key(*c)) == [cases[2], cases[1], cases[0]]


RATES = {
    ("99213", ""): ContractRate("SANDBOX", "99213", "", 11_000),
    ("87880", "QW"): ContractRate("SANDBOX", "87880", "QW", 2_600),
}


def test_an_allowed_amount_below_the_contract_beyond_the_tolerance_is_an_underpayment() -> None:
    lines = [
        RemittedLine(1, "99213", ("25",), 12_500, 8_000, 2_000),  # allowed 100.00 < 110.00: short 10.00
        RemittedLine(2, "87880", ("QW",), 3_000, 2_000, 550),  # allowed 25.50: within the 1.00 tolerance
        RemittedLine(3, "99213", (), 12_500, 0, 0),  # nothing paid: a denial, not an underpayment
        RemittedLine(4, "99999", (), 12_500, 10, 0),  # no contract
    ]
    (found,) = underpaid_lines(lines, RATES, tolerance_cents=100)
    assert (found.line_number, found.expected_cents, found.allowed_cents, found.paid_cents) == (
        1,
        11_000,
        10_000,
        8_000,
    )
    assert found.short_cents == 1_000
    assert underpaid_lines(lines, RATES, tolerance_cents=1_000) == []


def test_the_contract_file_reads_dollars_exactly_and_names_bad_lines() -> None:
    rates = parse_contract_csv((Path(__file__).parent / "fixtures" / "contract.csv").read_text())
    assert [(r.payer_id, r.procedure_code, r.modifier, r.allowed_cents) for r in rates] == [
        ("SANDBOX", "99213", "", 11_000),
        ("SANDBOX", "87880", "QW", 2_600),
        ("SANDBOX2", "99214", "25", 15_000),
    ]
    with pytest.raises(ContractFileError, match="line 2: allowed_amount"):
        parse_contract_csv("payer_id,procedure_code,modifier,allowed_amount\nP,99213,,12.345\n")
    with pytest.raises(ContractFileError, match="missing column"):
        parse_contract_csv("payer,code\n")


def test_actions_move_the_case_and_refuse_what_cannot_be_done() -> None:
    assert (
        status_after_action(DenialCaseStatus.OPEN, ActionKind.APPEAL, appealable=True) is DenialCaseStatus.PENDING_PAYER
    )
    assert (
        status_after_action(DenialCaseStatus.UPHELD, ActionKind.WRITE_OFF, appealable=True)
        is DenialCaseStatus.WRITTEN_OFF
    )
    with pytest.raises(CaseNotWorkable, match="MA130"):
        status_after_action(DenialCaseStatus.OPEN, ActionKind.APPEAL, appealable=False)
    with pytest.raises(CaseNotWorkable, match="already with the payer"):
        status_after_action(DenialCaseStatus.PENDING_PAYER, ActionKind.CORRECTED_CLAIM, appealable=True)
    with pytest.raises(CaseNotWorkable, match="overturned"):
        status_after_action(DenialCaseStatus.OVERTURNED, ActionKind.WRITE_OFF, appealable=True)


def test_outcomes_overturned_partial_and_upheld_with_the_next_level() -> None:
    assert outcome_of_payment(12_400, 0, 1).status is DenialCaseStatus.OVERTURNED
    partial = outcome_of_payment(9_000, 6_500, 1)
    assert (partial.status, partial.recovered_cents) == (DenialCaseStatus.PARTIALLY_OVERTURNED, 9_000)
    upheld = outcome_of_repeated_denial(1, appealable=True)
    assert (upheld.status, upheld.appeal_level, upheld.proposal) == (
        DenialCaseStatus.UPHELD,
        2,
        RecommendedAction.APPEAL,
    )
    last = outcome_of_repeated_denial(3, appealable=True)
    assert (last.appeal_level, last.proposal) == (3, RecommendedAction.WRITE_OFF)


def test_kpi_arithmetic_and_every_definition_names_its_source() -> None:
    assert rate_basis_points(1, 8) == 1_250 and rate_basis_points(2, 3) == 6_667 and rate_basis_points(0, 0) is None
    assert average_days(10, 4) == 2.5 and average_days(0, 0) is None
    assert all(d.source.startswith("HFMA") for d in DEFINITIONS)
    assert len({d.key for d in DEFINITIONS}) == len(DEFINITIONS)
