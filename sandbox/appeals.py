"""How the sandbox payer answers appeal letters: a documented, deterministic table, so the denials loop
(appeal -> upheld -> next level -> paid) runs on one machine.

The denials service names each letter ``APPEAL-<CLM01>-L<level>-<id>.pdf``. The sandbox finds that claim
in the 837s it received, adjudicates it again by its rules (the same denial, deterministically), and
answers with an 835 (new payer claim number and trace):

| denial on the claim (CARC) | level 1 | level 2 and later |
|---|---|---|
| 29 timely filing | upheld: denied again | upheld: denied again |
| 50 medical necessity, and any other | upheld: denied again | paid as contracted (80% of charge, CO-45) |
"""

from __future__ import annotations

import re
from datetime import date

from sandbox.claims_837 import ReceivedClaim
from sandbox.rules import AdjudicationRule, ClaimAdjudication, Match, Outcome, adjudicate

APPEAL_FILE = re.compile(r"^APPEAL-(?P<claim>[A-Za-z0-9-]{1,38})-L(?P<level>[1-9])-[0-9a-f]{6,32}\.pdf$")
UPHELD_AT_EVERY_LEVEL = frozenset({"29"})
PAID_FROM_LEVEL = 2
OVERTURNED = AdjudicationRule(
    "appeal-overturned", Match(), Outcome(allowed_basis_points=8000), "Appeal granted: paid at the contracted 80%"
)


def appeal_of(file_name: str) -> tuple[str, int] | None:
    """(claim control number, appeal level) of an appeal letter's file name; None for any other file."""
    found = APPEAL_FILE.match(file_name)
    return (found["claim"], int(found["level"])) if found else None


def answer_appeal(
    claim: ReceivedClaim, original: ClaimAdjudication, level: int, received_on: date
) -> ClaimAdjudication:
    """The payer's decision on an appeal of `original`, per the table above."""
    carcs = {a.reason for line in original.lines for a in line.adjustments if a.group != "PR"}
    if carcs & UPHELD_AT_EVERY_LEVEL or level < PAID_FROM_LEVEL or original.paid_cents >= claim.charge_cents:
        return original
    return adjudicate(claim, received_on, (OVERTURNED,))
