"""The claim scrubber: pure edits over a draft claim, configurable per tenant.

`scrub(claim, context)` runs every built-in rule the tenant has not disabled and returns findings;
any finding of severity `error` puts the claim on hold. Rules live in `rules.py` (each an id, a
description, a severity), code-set facts in `code_sets.py`, CMS NCCI PTP/MUE file readers in `ncci.py`.
"""

from services.claims.domain.scrubber.engine import RULES_BY_ID, holds, scrub
from services.claims.domain.scrubber.model import (
    DraftClaim,
    DraftLine,
    Finding,
    MissingPart,
    Rule,
    ScrubContext,
    ServiceKey,
    Severity,
)
from services.claims.domain.scrubber.rules import BUILT_IN_RULES

__all__ = [
    "BUILT_IN_RULES",
    "RULES_BY_ID",
    "DraftClaim",
    "DraftLine",
    "Finding",
    "MissingPart",
    "Rule",
    "ScrubContext",
    "ServiceKey",
    "Severity",
    "holds",
    "scrub",
]
