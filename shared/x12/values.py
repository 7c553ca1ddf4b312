"""X12 numeric element values: money as integer cents, quantities as Decimal."""

from __future__ import annotations

from decimal import Decimal

_CENT_SCALE = (100, 10, 1)


def parse_cents(text: str) -> int:
    """Parse an X12 `R` monetary amount ("-1.27", "150000", ".5") into integer cents.

    Raises ValueError when the text is not a plain decimal number or carries non-zero digits
    beyond the cent, since those cannot be posted exactly.
    """
    negative = text[:1] == "-"
    whole, _, fraction = (text[1:] if negative else text).partition(".")
    digits = whole + fraction
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{text!r} is not a decimal amount")
    if len(fraction) > 2:
        if fraction[2:].strip("0"):
            raise ValueError(f"{text!r} has digits below one cent")
        digits, fraction = whole + fraction[:2], fraction[:2]
    cents = int(digits) * _CENT_SCALE[len(fraction)]
    return -cents if negative else cents


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


def format_cents(cents: int) -> str:
    """Render integer cents as an X12 amount: no trailing zero decimals ("150000", "-1.27", "30.5")."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:02d}".rstrip("0")
