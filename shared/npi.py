"""The NPI check digit: Luhn over the nine-digit identifier prefixed with the card issuer code 80840."""

from __future__ import annotations

from functools import lru_cache

NPI_PREFIX = "80840"


def luhn_check_digit(payload: str) -> int:
    """The digit that makes `payload` + digit pass the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


@lru_cache(maxsize=4096)
def npi_is_valid(npi: str) -> bool:
    """Ten digits whose last one is the Luhn check digit of "80840" + the first nine (remembered: the same
    few providers are checked on every claim)."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    return luhn_check_digit(NPI_PREFIX + npi[:9]) == int(npi[9])


def npi_problem(npi: str) -> str | None:
    """Why `npi` is not an NPI, or None when it is one."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return "an NPI is exactly 10 digits"
    if not npi_is_valid(npi):
        return "NPI check digit is wrong (Luhn over 80840 + the first nine digits)"
    return None
