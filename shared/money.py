"""Money as integer minor units (cents) with a currency; never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DECIMAL = re.compile(r"^(-)?(\d+)(?:\.(\d{1,2}))?$")


@dataclass(frozen=True, slots=True, order=True)
class Money:
    cents: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise TypeError(f"Money.cents must be an int, got {type(self.cents).__name__}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.cents - other.cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{format_cents(self.cents)} {self.currency}"


def parse_cents(text: str) -> int:
    """Parse a decimal amount such as "123.4" or "-0.05" into cents, exactly."""
    match = _DECIMAL.match(text.strip())
    if match is None:
        raise ValueError(f"not a monetary amount with at most two decimals: {text!r}")
    sign, whole, fraction = match.groups()
    cents = int(whole) * 100 + int((fraction or "").ljust(2, "0"))
    return -cents if sign else cents


def format_cents(cents: int) -> str:
    """Cents as a decimal string without trailing zeros: 12345 -> "123.45", 10000 -> "100"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:02d}".rstrip("0")
