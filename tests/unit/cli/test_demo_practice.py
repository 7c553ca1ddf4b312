"""The demo's synthetic month: reproducible from its seed, a realistic mix, valid for intake and the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from cli.demo_practice import DEMO_SANDBOX_RULES, MRI, build_practice
from cli.demo_summary import ClaimOutcome, LedgerTotals, summarize
from sandbox.rules import load_rules
from shared.npi import npi_is_valid

END = dt.date(2026, 11, 28)


def test_same_seed_same_month_other_seed_other_month() -> None:
    assert build_practice(7, 300, END) == build_practice(7, 300, END)
    assert build_practice(7, 300, END).encounters != build_practice(8, 300, END).encounters


def test_month_mix_is_realistic_and_synthetic() -> None:
    practice = build_practice(1, 2000, END)
    encounters = practice.encounters
    assert len({e["external_encounter_id"] for e in encounters}) == 2000
    unauthorized_mri = [e for e in encounters if e["lines"][0]["procedure_code"] == "70553" and
                        "prior_authorization" not in e]  # fmt: skip
    assert 0.09 <= len(unauthorized_mri) / len(encounters) <= 0.13
    assert len({e["payer_id"] for e in encounters}) >= 3
    assert len({e["place_of_service"] for e in encounters}) >= 4
    assert len({e["rendering_provider_npi"] for e in encounters}) >= 3
    days = {dt.date.fromisoformat(e["service_date_from"]) for e in encounters}
    assert max(days) <= END and (END - min(days)).days < 31
    assert all(npi_is_valid(p["npi"]) for p in practice.providers)
    assert any(len(p.coverages) == 2 for p in practice.patients)
    assert all(isinstance(line["charge_cents"], int) for e in encounters for line in e["lines"])
    assert MRI.name in practice.visit_kinds


def test_demo_rules_load_in_the_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(DEMO_SANDBOX_RULES))
    rules = load_rules(path)
    assert rules[0].outcome.denial == ("CO", "197") and rules[-1].name == "contracted"


def outcome(claim_id: str, state: str, charge: int, ledger: LedgerTotals | None) -> ClaimOutcome:
    return ClaimOutcome(claim_id, state, charge, frozenset({"submitted", "accepted", state}), False, ledger)


def test_summary_adds_up_and_flags_a_claim_off_by_a_cent() -> None:
    paid = outcome("a", "partially_paid", 10000, LedgerTotals(10000, 6000, 2000, 2000, 0))
    held = ClaimOutcome("b", "on_hold", 5000, frozenset({"on_hold"}), False, None)
    summary = summarize([paid, held], encounters=2, encounters_created=2, suspense_matched=0, elapsed_s=2.0, seed=1)
    assert summary.ledger_balanced and summary.charged_cents == 15000 and summary.open_cents == 5000
    assert summary.claims_paid == 1 and summary.claims_on_hold == 1 and summary.claims_submitted == 1
    assert summary.encounters_per_s == 1.0

    off = outcome("c", "paid", 10000, LedgerTotals(10000, 8000, 1999, 0, 0))
    summary = summarize([paid, off], encounters=2, encounters_created=0, suspense_matched=0, elapsed_s=1.0, seed=1)
    assert not summary.ledger_balanced and summary.unbalanced_claims == ("c",)
    mismatched_charge = outcome("d", "paid", 10001, LedgerTotals(10000, 8000, 2000, 0, 0))
    assert not mismatched_charge.balanced
    overpaid = outcome("e", "paid", 10000, LedgerTotals(10000, 12000, 2000, 0, -4000))
    assert not overpaid.balanced, "the identity holds, but a credit balance is not balanced"
