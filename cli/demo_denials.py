"""How the demo works its denial cases, as a biller would, and what working them came to.

Pure: the demo command reads the cases from the denials API (`GET /v1/denial-cases`) and posts the
action chosen here (`POST /v1/denial-cases/{id}/actions`). An MRI denied CO-197 (no prior authorization)
gets a corrected claim carrying a synthetic authorization number; any other case gets an appeal when the
case recommends one and allows it, else a write-off. Every action's Idempotency-Key comes from the case
and the step (action kind, appeal level), so a rerun sends nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WORKABLE_STATUSES = frozenset({"open", "upheld"})
"""On the work queue: the demo acts on these."""
AWAITING_PAYER = "pending_payer"
OVERTURNED_STATUSES = frozenset({"overturned", "partially_overturned"})
ALL_STATUSES = (
    "open", "pending_payer", "upheld", "overturned", "partially_overturned", "written_off",
    "transferred_to_patient", "voided",
)  # fmt: skip
MISSING_AUTHORIZATION_CARC = "197"


@dataclass(frozen=True, slots=True)
class DemoDenialCase:
    """One denial case as the denials API reports it, with what the demo needs of it."""

    id: str
    claim_id: str | None
    status: str
    carcs: tuple[str, ...]
    recommended_action: str
    appealable: bool
    appeal_level: int
    corrected_claim_control_number: str | None
    denied_cents: int
    recovered_cents: int
    written_off_cents: int

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> DemoDenialCase:
        corrected = body.get("corrected_claim_control_number")
        return cls(
            id=str(body["id"]),
            claim_id=str(body["claim_id"]) if body.get("claim_id") else None,
            status=str(body["status"]),
            carcs=tuple(str(code) for code in body["carcs"]),
            recommended_action=str(body["recommended_action"]),
            appealable=bool(body["appealable"]),
            appeal_level=int(body["appeal_level"]),
            corrected_claim_control_number=str(corrected) if corrected else None,
            denied_cents=int(body["denied_cents"]),
            recovered_cents=int(body["recovered_cents"]),
            written_off_cents=int(body["written_off_cents"]),
        )


@dataclass(frozen=True, slots=True)
class CaseAction:
    """One action on one case, with the Idempotency-Key that makes sending it twice harmless."""

    case_id: str
    kind: str
    idempotency_key: str
    prior_authorization: str | None = None

    def body(self) -> dict[str, str]:
        body = {"kind": self.kind}
        if self.prior_authorization is not None:
            body["prior_authorization"] = self.prior_authorization
        return body


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()


def synthetic_prior_authorization(case_id: str, seed: int) -> str:
    """A made-up authorization number (PA + 7 digits), the same for the same case and seed."""
    return f"PA{int(_digest('prior-authorization', seed, case_id)[:12], 16) % 10**7:07d}"


def next_action(case: DemoDenialCase, seed: int) -> CaseAction | None:
    """What the demo does next on `case`; None when it is not on the work queue."""
    if case.status not in WORKABLE_STATUSES:
        return None
    if MISSING_AUTHORIZATION_CARC in case.carcs and case.corrected_claim_control_number is None:
        kind, authorization = "corrected_claim", synthetic_prior_authorization(case.id, seed)
    elif case.recommended_action == "appeal" and case.appealable:
        kind, authorization = "appeal", None
    else:
        kind, authorization = "write_off", None
    key = "demo-" + _digest("denial-action", case.id, kind, case.appeal_level)[:40]
    return CaseAction(case.id, kind, key, authorization)


def correction_encounter_id(original_encounter_id: str, action_id: str) -> str:
    """The encounter id the claims service gives a corrected claim built for a denials action (the original
    keeps its encounter's one claim): uuid5 of the original's encounter id and `correction:<action id>`.
    The claims API lists claims by encounter only, so this is how the demo finds the replacement."""
    return str(uuid.uuid5(uuid.UUID(original_encounter_id), f"correction:{action_id}"))


@dataclass(frozen=True, slots=True)
class DenialTotals:
    denial_cases: int
    cases_overturned: int
    cases_written_off: int
    cases_open: int
    """Still on the queue or awaiting the payer when the demo stopped following them."""
    recovered_cents: int
    written_off_cents: int

    def as_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def denial_totals(cases: Iterable[DemoDenialCase]) -> DenialTotals:
    worked = list(cases)
    return DenialTotals(
        denial_cases=len(worked),
        cases_overturned=sum(1 for case in worked if case.status in OVERTURNED_STATUSES),
        cases_written_off=sum(1 for case in worked if case.status == "written_off"),
        cases_open=sum(1 for case in worked if case.status in WORKABLE_STATUSES or case.status == AWAITING_PAYER),
        recovered_cents=sum(case.recovered_cents for case in worked),
        written_off_cents=sum(case.written_off_cents for case in worked),
    )
