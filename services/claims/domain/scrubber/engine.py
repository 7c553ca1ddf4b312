"""Runs the rules a tenant has enabled over a draft claim."""

from __future__ import annotations

from collections.abc import Sequence

from services.claims.domain.scrubber.model import DraftClaim, Finding, Rule, ScrubContext, Severity
from services.claims.domain.scrubber.rules import BUILT_IN_RULES

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in BUILT_IN_RULES}


def scrub(claim: DraftClaim, context: ScrubContext, rules: Sequence[Rule] = BUILT_IN_RULES) -> list[Finding]:
    """Findings of every enabled rule, in rule order."""
    findings: list[Finding] = []
    disabled = context.disabled_rules
    for rule in rules:
        if disabled and rule.id in disabled:
            continue
        problems = rule.check(claim, context)
        if problems:  # most rules find nothing on most claims: no generator made for them
            findings += [Finding(rule.id, rule.severity, message, line) for message, line in problems]
    return findings


def holds(findings: Sequence[Finding]) -> bool:
    """Whether the findings put the claim on hold: any error does."""
    return any(f.severity is Severity.ERROR for f in findings)
