"""Denial case lifecycle: opened, worked (an action sent, the payer's answer awaited), and closed by the
payer's next remittance or by a write-off or transfer. One function decides each transition."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.denials.domain.classification import RecommendedAction

MAX_APPEAL_LEVEL = 3


class DenialCaseStatus(StrEnum):
    OPEN = "open"
    PENDING_PAYER = "pending_payer"
    """A corrected claim or an appeal went out; the payer's answer closes or reopens the case."""
    UPHELD = "upheld"
    """The payer denied again; the next appeal level is proposed. Still on the queue."""
    OVERTURNED = "overturned"
    PARTIALLY_OVERTURNED = "partially_overturned"
    WRITTEN_OFF = "written_off"
    TRANSFERRED_TO_PATIENT = "transferred_to_patient"
    VOIDED = "voided"


OPEN_STATUSES = frozenset({DenialCaseStatus.OPEN, DenialCaseStatus.UPHELD})
"""On the work queue."""
CLOSED_STATUSES = frozenset(
    {
        DenialCaseStatus.OVERTURNED,
        DenialCaseStatus.PARTIALLY_OVERTURNED,
        DenialCaseStatus.WRITTEN_OFF,
        DenialCaseStatus.TRANSFERRED_TO_PATIENT,
        DenialCaseStatus.VOIDED,
    }
)


class CaseKind(StrEnum):
    DENIAL = "denial"
    UNDERPAYMENT = "underpayment"


class ActionKind(StrEnum):
    CORRECTED_CLAIM = "corrected_claim"
    VOID = "void"
    APPEAL = "appeal"
    WRITE_OFF = "write_off"
    TRANSFER_TO_PATIENT = "transfer_to_patient"


class CaseNotWorkable(ValueError):
    """The action does not fit the case (closed, or an appeal where none is possible); the message says why."""


AWAITS_PAYER = frozenset({ActionKind.CORRECTED_CLAIM, ActionKind.APPEAL})
STATUS_AFTER: dict[ActionKind, DenialCaseStatus] = {
    ActionKind.CORRECTED_CLAIM: DenialCaseStatus.PENDING_PAYER,
    ActionKind.APPEAL: DenialCaseStatus.PENDING_PAYER,
    ActionKind.VOID: DenialCaseStatus.VOIDED,
    ActionKind.WRITE_OFF: DenialCaseStatus.WRITTEN_OFF,
    ActionKind.TRANSFER_TO_PATIENT: DenialCaseStatus.TRANSFERRED_TO_PATIENT,
}


def status_after_action(status: DenialCaseStatus, action: ActionKind, *, appealable: bool) -> DenialCaseStatus:
    """The case's status once `action` is taken; raises CaseNotWorkable when it may not be taken."""
    if status in CLOSED_STATUSES:
        raise CaseNotWorkable(f"the case is {status.value}; nothing more can be done on it")
    if status is DenialCaseStatus.PENDING_PAYER and action in AWAITS_PAYER:
        raise CaseNotWorkable("a corrected claim or appeal is already with the payer; wait for its answer")
    if action is ActionKind.APPEAL and not appealable:
        raise CaseNotWorkable("a remark code on this denial says no appeal is possible (e.g. MA130): correct the claim")
    return STATUS_AFTER[action]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: DenialCaseStatus
    recovered_cents: int
    appeal_level: int
    proposal: RecommendedAction | None = None


def outcome_of_payment(paid_cents: int, still_denied_cents: int, appeal_level: int) -> Outcome:
    """A later payment closes the case: overturned when the payer paid with nothing denied any more (only
    contractual reductions and the patient's share left), partially overturned when some is still denied.
    The recovered amount is what the payer paid; the contractual rest was never collectible."""
    recovered = max(paid_cents, 0)
    status = DenialCaseStatus.OVERTURNED if still_denied_cents <= 0 else DenialCaseStatus.PARTIALLY_OVERTURNED
    return Outcome(status, recovered, appeal_level)


def outcome_of_repeated_denial(appeal_level: int, *, appealable: bool) -> Outcome:
    """Denied again: upheld, and the next appeal level is proposed (or a write-off past the last level)."""
    next_level = appeal_level + 1
    if appealable and next_level <= MAX_APPEAL_LEVEL:
        return Outcome(DenialCaseStatus.UPHELD, 0, next_level, RecommendedAction.APPEAL)
    return Outcome(DenialCaseStatus.UPHELD, 0, appeal_level, RecommendedAction.WRITE_OFF)
