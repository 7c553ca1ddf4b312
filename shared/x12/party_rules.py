"""What an 837 needs of a party's address, stated once: the claims writer checks claims with these
rules, and intake refuses a registration or a correction that breaks them, so a party accepted by
intake never holds a claim at the writer."""

from __future__ import annotations

import re

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI FM MH PW AA AE AP".split()
)
"""N402: USPS codes of the states, DC, the territories and the military post offices."""
POSTAL_CODE_DIGITS = (5, 9)
"""N403 of any address: a 5- or 9-digit ZIP code."""
BILLING_POSTAL_CODE_DIGITS = (9,)
"""N403 of the billing provider (loop 2010AA): the ZIP+4, 9 digits."""
CITY_MIN_LENGTH = 2
_DIGITS = re.compile(r"\d+")


def address_problems(*, city: str, state: str, postal_code: str, billing: bool) -> list[tuple[str, str]]:
    """(field, message) for each rule of an 837 address the values break; `billing` for loop 2010AA."""
    problems: list[tuple[str, str]] = []
    if len(city) < CITY_MIN_LENGTH:
        problems.append(("city", f"must be at least {CITY_MIN_LENGTH} characters"))
    if state not in US_STATES:
        problems.append(("state", "must be a USPS state, territory or military code"))
    lengths = BILLING_POSTAL_CODE_DIGITS if billing else POSTAL_CODE_DIGITS
    if len(postal_code) not in lengths or _DIGITS.fullmatch(postal_code) is None:
        expected = " or ".join(str(n) for n in lengths)
        why = " (a billing provider's address needs the ZIP+4)" if billing else ""
        problems.append(("postal_code", f"must be {expected} digits{why}"))
    return problems
