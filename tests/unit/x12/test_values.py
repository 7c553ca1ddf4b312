"""X12 amounts become exact integer cents; anything that is not a plain decimal is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.x12 import format_cents, parse_cents, parse_decimal


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("150000", 15000000),
        ("150000.00", 15000000),
        ("-1.27", -127),
        ("34.6", 3460),
        (".5", 50),
        ("5.", 500),
        ("0", 0),
        ("-0.01", -1),
        ("12.340", 1234),
        ("211366.97", 21136697),
    ],
)
def test_parse_cents(text: str, cents: int) -> None:
    assert parse_cents(text) == cents


@pytest.mark.parametrize("text", ["", "-", ".", "1,000.00", "1e3", "+5", " 5", "١٢", "1.2.3", "--1", "1.-5"])
def test_parse_cents_refuses_what_is_not_a_decimal(text: str) -> None:
    with pytest.raises(ValueError, match="not a decimal amount"):
        parse_cents(text)


def test_parse_cents_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match=r"'12\.345' has digits below one cent"):
        parse_cents("12.345")


def test_parse_decimal() -> None:
    assert parse_decimal("1.00") == Decimal("1.00")
    assert parse_decimal("-2") == Decimal(-2)
    with pytest.raises(ValueError, match="not a decimal number"):
        parse_decimal("NaN")


@pytest.mark.parametrize(("cents", "text"), [(15000000, "150000"), (-127, "-1.27"), (3050, "30.5"), (1, "0.01")])
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text
