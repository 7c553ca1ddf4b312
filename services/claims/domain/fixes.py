"""Corrections billing staff apply to a held claim: codes, modifiers, units, pointers, charges.

A fix edits the claim's source document (the coded encounter as priced) and must leave it a valid
`encounter-coded` payload; the claim is scrubbed again on release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.events.catalog import EncounterCodedV1


class FixRejected(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LineFix:
    line_number: int
    changes: dict[str, Any]
    """Any of procedure_code, revenue_code, modifiers, units, charge_cents, diagnosis_pointers, place_of_service."""


LINE_FIELDS = frozenset(
    {"procedure_code", "revenue_code", "modifiers", "units", "charge_cents", "diagnosis_pointers", "place_of_service"}
)
CLAIM_FIELDS = frozenset(
    {"diagnosis_codes", "place_of_service", "prior_authorization", "original_claim_number", "subscriber_member_id"}
)
"""`subscriber_member_id` corrects the billed coverage's member id (the commonest front-end rejection)."""


@dataclass(frozen=True, slots=True)
class ClaimFix:
    claim_changes: dict[str, Any] = field(default_factory=dict)
    lines: tuple[LineFix, ...] = ()
    remove_lines: tuple[int, ...] = ()

    def summary(self) -> str:
        """What was changed, by field name and line number only."""
        parts = [*sorted(self.claim_changes)]
        parts += [f"line {fix.line_number}: {', '.join(sorted(fix.changes))}" for fix in self.lines]
        parts += [f"line {n} removed" for n in self.remove_lines]
        return "; ".join(parts) or "nothing"


def apply_fix(encounter: EncounterCodedV1, fix: ClaimFix) -> EncounterCodedV1:
    unknown = set(fix.claim_changes) - CLAIM_FIELDS
    if unknown:
        raise FixRejected(f"claim fields that cannot be fixed here: {', '.join(sorted(unknown))}")
    document = encounter.model_dump(mode="json")
    changes = dict(fix.claim_changes)
    member_id = changes.pop("subscriber_member_id", None)
    if member_id is not None:
        coverage = document.get("coverage") or {}
        subscriber = next(
            (
                s
                for s in (document.get("phi") or {}).get("subscribers", [])
                if s["coverage_id"] == coverage.get("coverage_id")
            ),
            None,
        )
        if subscriber is None:
            raise FixRejected("the claim has no subscriber for its billed coverage")
        subscriber["member_id"] = member_id
    document.update(changes)
    by_number = {line["line_number"]: line for line in document["lines"]}
    for line_fix in fix.lines:
        line = by_number.get(line_fix.line_number)
        if line is None:
            raise FixRejected(f"the claim has no line {line_fix.line_number}")
        unknown = set(line_fix.changes) - LINE_FIELDS
        if unknown:
            raise FixRejected(f"line fields that cannot be fixed: {', '.join(sorted(unknown))}")
        line.update(line_fix.changes)
    for number in fix.remove_lines:
        if number not in by_number:
            raise FixRejected(f"the claim has no line {number}")
    document["lines"] = [line for line in document["lines"] if line["line_number"] not in set(fix.remove_lines)]
    try:
        return EncounterCodedV1.model_validate(document)
    except ValidationError as exc:
        where = "; ".join(".".join(str(p) for p in error["loc"]) + f": {error['msg']}" for error in exc.errors())
        raise FixRejected(f"the fixed claim is not valid: {where}") from None
