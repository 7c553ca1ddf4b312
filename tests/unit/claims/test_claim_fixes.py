"""Fixes to a held claim edit its source document and keep it a valid encounter."""

from __future__ import annotations

import pytest

from services.claims.domain.fixes import ClaimFix, FixRejected, LineFix, apply_fix
from tests.support.encounters import event_of


def test_line_and_claim_fields_change_and_nothing_else() -> None:
    event = event_of("professional")
    fixed = apply_fix(
        event,
        ClaimFix(
            claim_changes={"diagnosis_codes": ["J02.9", "R05.9"]},
            lines=(LineFix(1, {"modifiers": ["25"], "units": 2, "diagnosis_pointers": [2]}),),
        ),
    )
    assert fixed.diagnosis_codes == ["J02.9", "R05.9"]
    assert (fixed.lines[0].modifiers, fixed.lines[0].units, fixed.lines[0].diagnosis_pointers) == (["25"], 2, [2])
    assert fixed.lines[1:] == event.lines[1:] and fixed.phi == event.phi


def test_a_line_can_be_removed() -> None:
    event = event_of("professional")
    fixed = apply_fix(event, ClaimFix(remove_lines=(2,)))
    assert [line.line_number for line in fixed.lines] == [1]


@pytest.mark.parametrize(
    ("fix", "error"),
    [
        (ClaimFix(lines=(LineFix(9, {"units": 2}),)), "no line 9"),
        (ClaimFix(lines=(LineFix(1, {"drug": None}),)), "cannot be fixed"),
        (ClaimFix(claim_changes={"payer_id": "OTHER"}), "cannot be fixed here"),
        (ClaimFix(lines=(LineFix(1, {"units": 0}),)), "not valid: lines.0.units"),
        (ClaimFix(remove_lines=(1, 2)), "not valid: lines"),
    ],
)
def test_fixes_that_would_break_the_claim_are_refused(fix: ClaimFix, error: str) -> None:
    with pytest.raises(FixRejected, match=error):
        apply_fix(event_of("professional"), fix)


def test_the_summary_names_fields_not_values() -> None:
    fix = ClaimFix(claim_changes={"diagnosis_codes": ["J02.9"]}, lines=(LineFix(1, {"units": 2}),), remove_lines=(3,))
    assert fix.summary() == "diagnosis_codes; line 1: units; line 3 removed"
