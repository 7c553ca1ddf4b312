"""The claim lifecycle lives in `domain/claim_state.py` only: no other claims module (SQL included)
names a state by its string, so every state written goes through the state machine's enum."""

from __future__ import annotations

import ast
from pathlib import Path

from services.claims.domain.claim_state import ClaimState

SERVICE = Path(__file__).resolve().parents[3] / "services" / "claims"
STATES = {state.value for state in ClaimState}


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            found += [(o.lineno, o.value) for o in operands if isinstance(o, ast.Constant) and o.value in STATES]
        elif isinstance(node, ast.keyword) and node.arg in {"state", "else_", "to_state", "from_state"}:
            if isinstance(node.value, ast.Constant) and node.value.value in STATES:
                found.append((node.value.lineno, node.value.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, state) for state in STATES if f"'{state}'" in node.value]
    return found


def test_no_module_outside_the_domain_names_a_claim_state_by_its_string() -> None:
    modules = [
        path
        for path in SERVICE.rglob("*.py")
        if "domain" not in path.relative_to(SERVICE).parts and "migrations" not in path.relative_to(SERVICE).parts
    ]
    assert len(modules) >= 10
    offenders = [
        f"{path.relative_to(SERVICE)}:{line} {state!r}"
        for path in modules
        for line, state in _literals(ast.parse(path.read_text()))
    ]
    assert offenders == []


def test_the_guard_sees_a_state_written_in_sql_or_compared_as_a_string() -> None:
    source = """
sa.text("UPDATE claims.claims SET state = 'on_hold'")
query.where(claims.c.state == "ready")
sa.case((x > 1, "resubmitted"), else_="submitted")
"""
    assert sorted(state for _, state in _literals(ast.parse(source))) == ["on_hold", "ready", "submitted"]
