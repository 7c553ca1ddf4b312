"""The classifier over the whole loaded CARC fixture: every code gets a cause, unknown ones are kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.denials.domain.classification import (
    CARC_CAUSES,
    PROFILES,
    Owner,
    RecommendedAction,
    RootCause,
    classify,
)
from services.denials.domain.code_lists import CodeListError, CodeListKind, parse_code_list

FIXTURES = Path(__file__).parent / "fixtures"
CARCS = parse_code_list((FIXTURES / "carc.txt").read_text(), CodeListKind.CARC)
RARCS = parse_code_list((FIXTURES / "rarc.txt").read_text(), CodeListKind.RARC)


def test_the_fixture_reads_in_the_publishers_layout() -> None:
    by_code = {c.code: c for c in CARCS}
    assert len(CARCS) == 22
    assert by_code["97"].description.endswith("that has already been adjudicated.")
    assert by_code["16"].notes.startswith("Use at least one Remark Code")
    assert by_code["16"].start == dt.date(1995, 1, 1)
    assert by_code["A8"].stop == dt.date(2009, 6, 30) and not by_code["A8"].active_on(dt.date(2026, 1, 1))
    assert {r.code for r in RARCS} == {"M15", "M51", "M62", "MA130", "N115", "N130", "N30"}
    assert "no appeal rights" in {r.code: r for r in RARCS}["MA130"].description


def test_a_file_of_the_other_kind_or_of_nothing_is_refused() -> None:
    with pytest.raises(CodeListError, match="no CARC entries"):
        parse_code_list("Code\tDescription\n\n", CodeListKind.CARC)
    with pytest.raises(CodeListError, match="line 1"):
        parse_code_list("16\tLacks information\n", CodeListKind.RARC)


@pytest.mark.parametrize("code", [c.code for c in CARCS])
def test_every_carc_of_the_fixture_is_classified_and_none_is_dropped(code: str) -> None:
    result = classify("CO", [code])
    assert result.root_cause is CARC_CAUSES.get(code, RootCause.UNKNOWN)
    assert result.carc == code
    assert result.owner in set(Owner) and result.action in set(RecommendedAction)
    assert result.unknown_codes == (() if code in CARC_CAUSES else (code,))


EXPECTED = {
    ("CO", ("27",), ()): (RootCause.ELIGIBILITY, RecommendedAction.CORRECTED_CLAIM, Owner.FRONT_DESK),
    ("CO", ("197",), ("M62",)): (RootCause.AUTHORIZATION, RecommendedAction.APPEAL, Owner.FRONT_DESK),
    ("CO", ("97",), ("M15",)): (RootCause.CODING, RecommendedAction.CORRECTED_CLAIM, Owner.CODER),
    ("CO", ("50",), ("N115",)): (RootCause.MEDICAL_NECESSITY, RecommendedAction.APPEAL, Owner.CODER),
    ("OA", ("18",), ()): (RootCause.DUPLICATE, RecommendedAction.VOID, Owner.BILLER),
    ("CO", ("29",), ()): (RootCause.TIMELY_FILING, RecommendedAction.APPEAL, Owner.BILLER),
    ("OA", ("22",), ()): (RootCause.COORDINATION_OF_BENEFITS, RecommendedAction.BILL_OTHER_PAYER, Owner.FRONT_DESK),
    ("CO", ("16",), ("MA130",)): (RootCause.MISSING_INFORMATION, RecommendedAction.CORRECTED_CLAIM, Owner.BILLER),
    ("CO", ("96",), ("N130",)): (RootCause.NON_COVERED, RecommendedAction.TRANSFER_TO_PATIENT, Owner.BILLER),
    ("CO", ("45",), ()): (RootCause.UNDERPAYMENT, RecommendedAction.APPEAL, Owner.BILLER),
    ("PR", ("204",), ("N130",)): (
        RootCause.PATIENT_RESPONSIBILITY,
        RecommendedAction.TRANSFER_TO_PATIENT,
        Owner.BILLER,
    ),
    ("CO", ("A8",), ()): (RootCause.UNKNOWN, RecommendedAction.REVIEW, Owner.BILLER),
}


@pytest.mark.parametrize(("codes", "expected"), list(EXPECTED.items()))
def test_each_root_cause_with_its_action_and_owner(
    codes: tuple[str, tuple[str, ...], tuple[str, ...]], expected: tuple[RootCause, RecommendedAction, Owner]
) -> None:
    group, carcs, rarcs = codes
    result = classify(group, carcs, rarcs)
    assert (result.root_cause, result.action, result.owner) == expected
    assert result.recoverable is PROFILES[result.root_cause].recoverable


def test_every_cause_of_the_issue_is_reachable_from_the_fixture() -> None:
    reached = {classify("CO", [c.code]).root_cause for c in CARCS} | {classify("PR", ["1"]).root_cause}
    assert reached == set(RootCause)


def test_ma130_takes_the_appeal_away_and_patient_responsibility_opens_no_case() -> None:
    assert classify("CO", ["50"], ["MA130"]).appealable is False
    assert classify("CO", ["50"], ["MA130"]).action is RecommendedAction.CORRECTED_CLAIM
    assert classify("CO", ["50"], ["N115"]).appealable is True
    assert classify("PR", ["1"]).opens_case is False
    assert classify("CO", ["16"]).opens_case is True


def test_the_blocking_cause_wins_and_a_contractual_reduction_never_hides_a_denial() -> None:
    assert classify("CO", ["45", "97"]).root_cause is RootCause.CODING
    assert classify("CO", ["97", "29"]).root_cause is RootCause.TIMELY_FILING
    assert classify("CO", ["16"], ["M62"]).root_cause is RootCause.AUTHORIZATION
    assert classify("CO", ["ZZ9"], ["N115"]).root_cause is RootCause.MEDICAL_NECESSITY
    assert classify("CO", ["ZZ9"]).unknown_codes == ("ZZ9",)
