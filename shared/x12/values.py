"""X12 numeric element values: money as integer cents (from shared.money), quantities as Decimal."""

from __future__ import annotations

from decimal import Decimal

from shared.money import format_cents, parse_cents

__all__ = ["format_cents", "parse_cents", "parse_decimal"]


def parse_decimal(text: str) -> Decimal:
    """Parse an X12 `R` quantity or percentage ("1.00", "-2", ".5") exactly."""
    negative = text[:1] == "-"
    body = text[1:] if negative else text
    whole, _, fraction = body.partition(".")
    if (
        not (whole or fraction)
        or not body.isascii()
        or (whole and not whole.isdigit())
        or (fraction and not fraction.isdigit())
    ):
        raise ValueError(f"{text!r} is not a decimal number")
    return Decimal(text)
