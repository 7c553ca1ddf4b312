"""Root cause of a denial from its group code, CARCs and RARCs: what to do, who does it, can it be won.

The CARC decides the cause; a RARC can only refine it (M62 names a missing authorization) or take
the appeal away (MA130: unprocessable, no appeal rights, submit a new claim). A PR group is the
patient's share, never a denial: it opens no case. A code we do not know is classified ``unknown``
and shown to a biller, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class RootCause(StrEnum):
    ELIGIBILITY = "eligibility_coverage"
    AUTHORIZATION = "authorization_referral"
    CODING = "coding_bundling"
    MEDICAL_NECESSITY = "medical_necessity"
    DUPLICATE = "duplicate"
    TIMELY_FILING = "timely_filing"
    COORDINATION_OF_BENEFITS = "coordination_of_benefits"
    MISSING_INFORMATION = "missing_invalid_information"
    NON_COVERED = "non_covered_service"
    UNDERPAYMENT = "pricing_underpayment"
    PATIENT_RESPONSIBILITY = "patient_responsibility"
    UNKNOWN = "unknown"


class Owner(StrEnum):
    FRONT_DESK = "front_desk"
    CODER = "coder"
    BILLER = "biller"


class RecommendedAction(StrEnum):
    CORRECTED_CLAIM = "corrected_claim"
    APPEAL = "appeal"
    VOID = "void"
    WRITE_OFF = "write_off"
    TRANSFER_TO_PATIENT = "transfer_to_patient"
    BILL_OTHER_PAYER = "bill_other_payer"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class CauseProfile:
    """How a cause is worked. ``overturn_basis_points`` is the default chance that working it recovers
    the money (1/100 of a percent), used to rank the queue; a tenant's own outcomes can replace it."""

    action: RecommendedAction
    recoverable: bool
    owner: Owner
    overturn_basis_points: int
    guidance: str


PROFILES: dict[RootCause, CauseProfile] = {
    RootCause.ELIGIBILITY: CauseProfile(
        RecommendedAction.CORRECTED_CLAIM, True, Owner.FRONT_DESK, 6000,
        "Re-verify coverage (270/271); fix the member id or bill the right payer.",
    ),
    RootCause.AUTHORIZATION: CauseProfile(
        RecommendedAction.APPEAL, True, Owner.FRONT_DESK, 4500,
        "Find the authorization or referral number, or request a retro-authorization, and appeal.",
    ),
    RootCause.CODING: CauseProfile(
        RecommendedAction.CORRECTED_CLAIM, True, Owner.CODER, 6500,
        "Review codes and modifiers against NCCI and the record; send a corrected claim.",
    ),
    RootCause.MEDICAL_NECESSITY: CauseProfile(
        RecommendedAction.APPEAL, True, Owner.CODER, 5000,
        "Appeal with the clinical record and the LCD/NCD or policy criteria it meets.",
    ),
    RootCause.DUPLICATE: CauseProfile(
        RecommendedAction.VOID, False, Owner.BILLER, 1000,
        "Confirm the original was paid; void the duplicate or write it off.",
    ),
    RootCause.TIMELY_FILING: CauseProfile(
        RecommendedAction.APPEAL, False, Owner.BILLER, 1500,
        "Appeal only with proof of timely filing (999/277CA acceptance); else write off.",
    ),
    RootCause.COORDINATION_OF_BENEFITS: CauseProfile(
        RecommendedAction.BILL_OTHER_PAYER, True, Owner.FRONT_DESK, 7000,
        "Update the coverage order with the patient; bill the primary, then this payer.",
    ),
    RootCause.MISSING_INFORMATION: CauseProfile(
        RecommendedAction.CORRECTED_CLAIM, True, Owner.BILLER, 8000,
        "Supply the missing or invalid data named by the remark codes; send a corrected claim.",
    ),
    RootCause.NON_COVERED: CauseProfile(
        RecommendedAction.TRANSFER_TO_PATIENT, False, Owner.BILLER, 1000,
        "Bill the patient when a signed waiver (ABN) exists; else write off.",
    ),
    RootCause.UNDERPAYMENT: CauseProfile(
        RecommendedAction.APPEAL, True, Owner.BILLER, 7000,
        "Appeal the payment with the contracted rate.",
    ),
    RootCause.PATIENT_RESPONSIBILITY: CauseProfile(
        RecommendedAction.TRANSFER_TO_PATIENT, False, Owner.BILLER, 0, "The patient's share: bill the patient."
    ),
    RootCause.UNKNOWN: CauseProfile(
        RecommendedAction.REVIEW, True, Owner.BILLER, 3000, "Code not in the loaded CARC list: read the 835 and decide."
    ),
}  # fmt: skip

CARC_CAUSES: dict[str, RootCause] = {
    **dict.fromkeys(["26", "27", "31", "32", "33", "109", "140", "177", "200"], RootCause.ELIGIBILITY),
    **dict.fromkeys(["15", "38", "39", "62", "197", "198", "243", "288"], RootCause.AUTHORIZATION),
    **dict.fromkeys(
        ["4", "5", "6", "7", "8", "9", "10", "11", "97", "181", "182", "199", "231", "234", "236", "B15"],
        RootCause.CODING,
    ),
    **dict.fromkeys(["50", "55", "56", "150", "151", "152", "167"], RootCause.MEDICAL_NECESSITY),
    **dict.fromkeys(["18", "B13"], RootCause.DUPLICATE),
    **dict.fromkeys(["29"], RootCause.TIMELY_FILING),
    **dict.fromkeys(["22", "23", "24"], RootCause.COORDINATION_OF_BENEFITS),
    **dict.fromkeys(["16", "125", "146", "206", "207", "208", "226", "227", "252"], RootCause.MISSING_INFORMATION),
    **dict.fromkeys(["35", "49", "96", "108", "119", "204", "B7", "B9"], RootCause.NON_COVERED),
    **dict.fromkeys(["45", "59", "94", "131", "P1"], RootCause.UNDERPAYMENT),
    **dict.fromkeys(["1", "2", "3", "66", "142"], RootCause.PATIENT_RESPONSIBILITY),
}
"""CARC -> cause. Codes absent here but present in the loaded CARC list are ``unknown`` too: a biller decides."""

RARC_REFINEMENTS: dict[str, RootCause] = {
    "M62": RootCause.AUTHORIZATION,
    "N54": RootCause.AUTHORIZATION,
    "M51": RootCause.CODING,
    "M15": RootCause.CODING,
    "N115": RootCause.MEDICAL_NECESSITY,
    "N30": RootCause.ELIGIBILITY,
    "MA04": RootCause.COORDINATION_OF_BENEFITS,
}
"""A RARC that names the cause more precisely than a generic CARC (16, 96, 50, ...)."""

GENERIC_CARCS = frozenset({"16", "96", "125", "252"})
NO_APPEAL_RARCS = frozenset({"MA130"})
"""Remark codes that say no appeal is possible (MA130: unprocessable claim, no appeal rights; submit a
corrected claim instead). An appeal is never proposed when one of them is on the denial."""
CAUSE_PRECEDENCE: tuple[RootCause, ...] = (
    RootCause.TIMELY_FILING,
    RootCause.DUPLICATE,
    RootCause.ELIGIBILITY,
    RootCause.COORDINATION_OF_BENEFITS,
    RootCause.AUTHORIZATION,
    RootCause.MISSING_INFORMATION,
    RootCause.CODING,
    RootCause.MEDICAL_NECESSITY,
    RootCause.NON_COVERED,
    RootCause.UNKNOWN,
    RootCause.UNDERPAYMENT,
    RootCause.PATIENT_RESPONSIBILITY,
)
"""When a denial carries several CARCs, the cause that blocks payment first wins (a timely-filing
denial cannot be won by fixing a code); a contractual reduction (CO-45) never hides a real denial."""
PAYER_GROUPS = frozenset({"CO", "OA", "PI", "CR"})


@dataclass(frozen=True, slots=True)
class Classification:
    root_cause: RootCause
    carc: str | None
    """The CARC that decided the cause (None when only a RARC or nothing spoke)."""
    action: RecommendedAction
    recoverable: bool
    owner: Owner
    appealable: bool
    overturn_basis_points: int
    guidance: str
    unknown_codes: tuple[str, ...] = ()

    @property
    def opens_case(self) -> bool:
        return self.root_cause is not RootCause.PATIENT_RESPONSIBILITY


def cause_of_carc(carc: str) -> RootCause:
    return CARC_CAUSES.get(carc.strip().upper(), RootCause.UNKNOWN)


def classify(group: str, carcs: Sequence[str], rarcs: Iterable[str] = ()) -> Classification:
    """The root cause of one denied claim or line (pure; the same codes always classify the same, so a verdict
    is computed once per combination of codes and reused: a backlog of denials repeats a few hundred of them)."""
    return _classify(group.upper(), tuple(carcs), tuple(rarcs))


@lru_cache(maxsize=8192)
def _classify(group: str, carcs: tuple[str, ...], rarcs: tuple[str, ...]) -> Classification:
    remarks = [r.strip().upper() for r in rarcs if r.strip()]
    codes = [c.strip().upper() for c in carcs if c.strip()]
    unknown = tuple(c for c in codes if c not in CARC_CAUSES)
    if group == "PR":
        cause, deciding = RootCause.PATIENT_RESPONSIBILITY, (codes[0] if codes else None)
    else:
        by_cause = {cause_of_carc(c): c for c in reversed(codes)}
        cause = next((c for c in CAUSE_PRECEDENCE if c in by_cause), RootCause.UNKNOWN)
        deciding = by_cause.get(cause)
        refined = next((RARC_REFINEMENTS[r] for r in remarks if r in RARC_REFINEMENTS), None)
        if refined is not None and (cause is RootCause.UNKNOWN or deciding in GENERIC_CARCS):
            cause = refined
    profile = PROFILES[cause]
    appealable = cause is not RootCause.PATIENT_RESPONSIBILITY and not NO_APPEAL_RARCS.intersection(remarks)
    action = profile.action
    if action is RecommendedAction.APPEAL and not appealable:
        action = RecommendedAction.CORRECTED_CLAIM if profile.recoverable else RecommendedAction.WRITE_OFF
    return Classification(
        root_cause=cause,
        carc=deciding,
        action=action,
        recoverable=profile.recoverable,
        owner=profile.owner,
        appealable=appealable,
        overturn_basis_points=profile.overturn_basis_points,
        guidance=profile.guidance,
        unknown_codes=unknown,
    )


def is_patient_responsibility(group: str) -> bool:
    return group.upper() not in PAYER_GROUPS
