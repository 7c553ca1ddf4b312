from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import format_cents, parse_cents


@pytest.mark.parametrize(
    ("text", "cents"),
    [("0", 0), ("123.45", 12345), ("100", 10000), ("-0.05", -5), ("7.5", 750), (".5", 50), ("12.000", 1200)],
)
def test_parse_cents_is_exact(text: str, cents: int) -> None:
    assert parse_cents(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "1,00", "1e3", "--1", " 12"])
def test_parse_cents_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="is not a decimal amount"):
        parse_cents(text)


def test_parse_cents_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match="digits below one cent"):
        parse_cents("1.234")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_then_parse_round_trips(cents: int) -> None:
    assert parse_cents(format_cents(cents)) == cents


def test_format_drops_trailing_zeros() -> None:
    assert [format_cents(c) for c in (12345, 10000, 750, -5)] == ["123.45", "100", "7.5", "-0.05"]
