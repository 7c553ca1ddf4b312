"""Pure rules of a coded encounter."""

from __future__ import annotations

from shared.events.catalog import CodedServiceLine


class EncounterRejected(ValueError):
    """The encounter breaks a rule; `location` names the field, as pydantic locations do."""

    def __init__(self, location: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(map(str, location))}: {message}")
        self.location = location
        self.message = message


def total_charge_cents(lines: list[CodedServiceLine]) -> int:
    """Sum of the line charges; lines without a charge are priced later from the fee schedule."""
    return sum(line.charge_cents or 0 for line in lines)


def check_diagnosis_pointers(lines: list[CodedServiceLine], diagnosis_count: int) -> None:
    for index, line in enumerate(lines):
        for pointer in line.diagnosis_pointers:
            if not 1 <= pointer <= diagnosis_count:
                raise EncounterRejected(
                    ("lines", index, "diagnosis_pointers"),
                    f"pointer {pointer} names no diagnosis (the encounter has {diagnosis_count})",
                )
