from __future__ import annotations

import pytest

from shared.npi import luhn_check_digit, npi_is_valid, npi_problem

FULLWIDTH = "".join(chr(0xFF10 + int(d)) for d in "1234567893")


def test_the_cms_example_npi_passes() -> None:
    assert npi_is_valid("1234567893")


def test_check_digit_is_luhn_over_the_80840_prefix() -> None:
    assert luhn_check_digit("80840123456789") == 3
    assert luhn_check_digit("7992739871") == 3  # the classic Luhn example


@pytest.mark.parametrize("npi", ["1234567890", "1234567894", "2234567893"])
def test_a_wrong_digit_fails(npi: str) -> None:
    assert not npi_is_valid(npi)
    assert npi_problem(npi) is not None and "check digit" in npi_problem(npi)  # type: ignore[operator]


@pytest.mark.parametrize("npi", ["123456789", "12345678930", "12345678a3", FULLWIDTH, ""])
def test_anything_but_ten_ascii_digits_fails(npi: str) -> None:
    assert not npi_is_valid(npi)
    assert npi_problem(npi) == "an NPI is exactly 10 digits"
