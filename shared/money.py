"""Money as integer minor units (cents); never floats. Amounts travel with their currency code beside them."""

from __future__ import annotations

_CENT_SCALE = (100, 10, 1)


def parse_cents(text: str) -> int:
    """Parse a decimal amount ("-1.27", "150000", ".5", X12's `R` type) into integer cents, exactly.

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


def format_cents(cents: int) -> str:
    """Cents as a decimal string without trailing zeros: 12345 -> "123.45", 10000 -> "100"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:02d}".rstrip("0")
