"""X12 element values written from domain values: cents, quantities, dates. No floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache


def cents_to_x12(cents: int) -> str:
    """Integer cents as an X12 decimal (R) value: 12345 -> "123.45", 10000 -> "100", 12350 -> "123.5"."""
    if type(cents) is not int:
        raise TypeError(f"amount must be integer cents, got {type(cents).__name__}")
    return x12_amount(cents)


_FRACTIONS = tuple("" if f == 0 else f".{f // 10}" if f % 10 == 0 else f".{f:02d}" for f in range(100))


def x12_amount(cents: int) -> str:
    """``cents_to_x12`` without the type check, for values already validated as int."""
    if cents < 0:
        return "-" + x12_amount(-cents)
    whole, fraction = divmod(cents, 100)
    return f"{whole}{_FRACTIONS[fraction]}"


def quantity_to_x12(quantity: int | Decimal) -> str:
    """A unit count as an X12 decimal value without exponent or trailing zeros."""
    if type(quantity) is int:
        return str(quantity)
    if isinstance(quantity, Decimal):
        text = format(quantity, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    raise TypeError(f"quantity must be int or Decimal, got {type(quantity).__name__}")


@lru_cache(maxsize=8192)
def d8(day: date) -> str:
    """A date as CCYYMMDD."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"
