"""Mutated 835s against the parser and what posting reads from it: a value or a positioned refusal, never
an unhandled exception, and nothing the database could not store (issue 11, item 9).

Bounded to run in seconds; `bench/fuzz_835.py` runs the same mutator for longer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

from cli.parse_835 import remittance_json
from services.remittance.domain.balancing import balance_findings
from services.remittance.domain.posting import facts_to_json, provider_entries, read_claim_payments
from services.remittance.domain.remittance_advice import RemittanceAdvice
from services.remittance.service import RemittanceRejected, parse_remittance
from tests.support.mutated_835 import base_files, mutants

MUTANTS = 500
BIGINT = 2**63 - 1


def strings_and_ints(value: object) -> tuple[list[str], list[int]]:
    """Every str and int inside a parsed advice (dataclasses, tuples), to check what would be stored."""
    strings: list[str] = []
    ints: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            ints.append(item)
        elif isinstance(item, tuple):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, field.name) for field in dataclasses.fields(item))
    return strings, ints


def read_as_posting_would(advices: tuple[RemittanceAdvice, ...]) -> None:
    remittance_json(advices, [balance_findings(advice) for advice in advices])
    for facts in read_claim_payments(advices, today=dt.date(2026, 1, 1)):
        assert "\\u0000" not in json.dumps(facts_to_json(facts))
    for advice in advices:
        provider_entries(advice)
        strings, ints = strings_and_ints(advice)
        assert not any("\x00" in text for text in strings), "a NUL would fail in Postgres"
        assert all(-BIGINT <= number <= BIGINT for number in ints), "an amount beyond BIGINT"


def test_the_unmutated_files_post_cleanly() -> None:
    for text in base_files():
        advices = parse_remittance(text.encode())
        assert all(not advice.warnings for advice in advices)
        read_as_posting_would(advices)


def test_mutated_835s_are_read_or_refused_with_a_position_never_crash() -> None:
    outcomes: Counter[str] = Counter()
    for mutant in mutants(seed=20261129, count=MUTANTS):
        try:
            advices = parse_remittance(mutant)
        except RemittanceRejected as refused:
            detail = refused.detail
            assert detail["reason"] and "\x00" not in detail["reason"]
            position = detail.get("position")
            assert position is None or position >= 1
            outcomes["refused"] += 1
            continue
        read_as_posting_would(advices)
        outcomes["read with warnings" if any(a.warnings for a in advices) else "read"] += 1
    assert sum(outcomes.values()) == MUTANTS
    assert outcomes["refused"] and outcomes["read"] and outcomes["read with warnings"], outcomes


def test_the_mutator_is_deterministic() -> None:
    assert list(mutants(seed=5, count=20)) == list(mutants(seed=5, count=20))
    assert list(mutants(seed=5, count=20)) != list(mutants(seed=6, count=20))
