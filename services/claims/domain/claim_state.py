"""Claim lifecycle states; the full state machine grows with submission and acknowledgments."""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalog import EncounterCodedV1


class ClaimState(StrEnum):
    DRAFT = "draft"


def draft_total_cents(encounter: EncounterCodedV1) -> int:
    """Charges known at intake; unpriced lines are priced from the fee schedule before scrubbing."""
    return sum(line.charge_cents or 0 for line in encounter.lines)
