"""Each documented sandbox scenario, asked for the way a client can through the API (the member id it
registers on the coverage): the claims service's own 837 writer, the sandbox's answer, and our 277CA and
835 parsers reading it back. CLM01 is claimflow's own number here (no suffix)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cli.demo_practice import DEMO_SANDBOX_RULES
from sandbox.clearinghouse import SandboxClearinghouse
from sandbox.rules import DEFAULT_RULES, SCENARIOS, SCENARIOS_BY_CODE, load_rules, scenario_of
from services.claims.domain.acknowledgments import StatusOutcome, parse_277ca
from services.remittance.domain.balancing import balance_report
from services.remittance.domain.remittance_advice import Claim as ClaimPayment
from services.remittance.domain.x12_835 import parse_835
from tests.support.sandbox_837 import RECEIVED_AT, SUBSCRIBER, line, professional, x12_837

CONTROL_NUMBER = "CF0000000042"  # as claimflow numbers claims: the scenario can only come from the member id


def adjusted(claim: ClaimPayment) -> set[tuple[str, str]]:
    return {(a.group, a.reason) for a in claim.all_adjustments}


def remarks(claim: ClaimPayment) -> set[str]:
    claim_remarks = claim.outpatient.remark_codes if claim.outpatient is not None else ()
    return {r.code for line in claim.lines for r in line.remarks} | set(claim_remarks)


EXPECTED = {
    # code: (CLP02, paid cents, patient responsibility cents, adjustments, remarks); charges 100.00 + 50.00
    "PAID": ("1", 15000, 0, set(), set()),
    "DED": ("1", 7000, 5000, {("CO", "45"), ("PR", "1")}, set()),
    "COINS": ("1", 9600, 2400, {("CO", "45"), ("PR", "2")}, set()),
    "COPAY": ("1", 9500, 2500, {("CO", "45"), ("PR", "3")}, set()),
    "PART": ("1", 6400, 2600, {("CO", "45"), ("PR", "1"), ("PR", "2")}, set()),
    "D50": ("4", 0, 0, {("CO", "50")}, {"N115"}),
    "D97": ("4", 0, 0, {("CO", "97")}, {"M15"}),
    "D16": ("4", 0, 0, {("CO", "16")}, {"MA130"}),
    "D204": ("1", 0, 15000, {("PR", "204")}, {"N130"}),
}


def answer_for(member_id: str) -> dict[str, bytes]:
    claim = professional(
        CONTROL_NUMBER,
        line(10000),
        line(5000, "81002"),
        subscriber=replace(SUBSCRIBER, member_id=member_id),
    )
    answers = SandboxClearinghouse().answer("batch-1.x12", x12_837(claim), RECEIVED_AT)
    return {a.file_name.split(".", 1)[1].split(".")[-1]: a.content for a in answers}


def test_the_table_names_a_rule_of_the_default_table_for_every_priced_scenario() -> None:
    rules = {rule.name for rule in DEFAULT_RULES}
    assert {s.rule for s in SCENARIOS if s.code != "REJECT"} <= rules
    assert set(EXPECTED) | {"REJECT"} == set(SCENARIOS_BY_CODE)
    assert all(6 <= len(s.member_id_prefix + "0001") <= 20 and s.member_id_prefix.isalnum() for s in SCENARIOS)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_a_member_id_prefix_picks_the_payers_outcome(code: str) -> None:
    member_id = SCENARIOS_BY_CODE[code].member_id_prefix + "0001"
    answers = answer_for(member_id)
    (report,) = parse_277ca(answers["277CA"])
    assert [(c.claim_control_number, c.outcome) for c in report.claims] == [(CONTROL_NUMBER, StatusOutcome.ACCEPTED)]
    advices = parse_835(answers["835"])
    assert balance_report(advices) == []
    (claim,) = [c for advice in advices for c in advice.claims]
    status, paid, patient, adjustments, remark_codes = EXPECTED[code]
    assert claim.patient_control_number == CONTROL_NUMBER
    assert (claim.status, claim.paid_cents, claim.patient_responsibility_cents) == (status, paid, patient)
    assert adjusted(claim) == adjustments
    assert remarks(claim) == remark_codes


def test_the_reject_scenario_is_refused_in_the_277ca_and_never_priced() -> None:
    answers = answer_for(SCENARIOS_BY_CODE["REJECT"].member_id_prefix + "0001")
    (report,) = parse_277ca(answers["277CA"])
    (claim,) = report.claims
    assert claim.outcome == StatusOutcome.REJECTED
    assert [str(code) for code in claim.codes] == ["A3:33:IL"]
    assert "835" not in answers


def test_an_ordinary_member_id_is_the_contracted_rate() -> None:
    assert scenario_of("SYN900000001") is None
    advices = parse_835(answer_for("SYN900000001")["835"])
    (claim,) = [c for advice in advices for c in advice.claims]
    assert (claim.paid_cents, adjusted(claim)) == (12000, {("CO", "45")})


def test_scenario_codes_are_read_longest_first_and_in_any_case() -> None:
    assert scenario_of("sbxd2040001") == "D204"
    assert scenario_of("SBXDED0001") == "DED"
    assert scenario_of("SBXD500001") == "D50"
    assert scenario_of("SYN1", "PCN-1-COINS") == "COINS"


def test_the_demo_table_that_claimflow_up_runs_prices_every_scenario_like_the_default(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(DEMO_SANDBOX_RULES))
    demo = {rule.name: rule for rule in load_rules(path)}
    default = {rule.name: rule for rule in DEFAULT_RULES}
    for scenario in SCENARIOS:
        if scenario.code != "REJECT":
            assert demo[scenario.rule] == default[scenario.rule], scenario.code
