"""X12 envelope control numbers (ISA13, GS06, ST02).

The numbers themselves are allocated and persisted by the caller; this module only
holds a position in the three sequences, formats them for the envelope, and steps them
forward (wrapping after nine digits, as ISA13 must).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CONTROL_NUMBER = 999_999_999


def _check(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 1 <= value <= MAX_CONTROL_NUMBER:
        raise ValueError(f"{name} must be between 1 and {MAX_CONTROL_NUMBER}, got {value}")


def following(value: int) -> int:
    """The control number after ``value``; 999999999 wraps to 1."""
    return 1 if value >= MAX_CONTROL_NUMBER else value + 1


@dataclass(frozen=True, slots=True)
class ControlNumbers:
    """The next ISA13, GS06 and ST02 to use."""

    interchange: int
    group: int
    transaction: int

    def __post_init__(self) -> None:
        _check("interchange control number (ISA13)", self.interchange)
        _check("group control number (GS06)", self.group)
        _check("transaction set control number (ST02)", self.transaction)


def isa13(value: int) -> str:
    """ISA13 is fixed width: nine digits, zero padded."""
    return f"{value:09d}"


def gs06(value: int) -> str:
    return str(value)


def st02(value: int) -> str:
    """ST02 is 4 to 9 characters; SE02 must repeat it."""
    return f"{value:04d}"
