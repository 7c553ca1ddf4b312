"""What 999, 277CA and 277 files mean for our claims: pure decisions, no I/O.

- 999: a transaction set (AK2/IK5) rejected, or a whole functional group rejected by AK9 with no
  transaction set named, rejects every claim it carried; the reasons are the IK5/AK9 codes and
  each IK3/IK4 location (segment, position, loop, element, code), never the bad value itself
  (it may be a member id). Accepted sets change nothing: acceptance comes from the 277CA.
- 277CA: each claim (TRN02 = our CLM01) accepted (A1/A2/A5…) or rejected (A3/A4/A6/A7/A8) with its
  STC composites as reasons; the payer's claim number (REF*1K) is kept.
- 277 (answer to our 276): keyed by the TRN02 trace number of the follow-up; rejected moves the
  claim to rejected, accepted/pending/finalized to accepted; the codes are stored with the follow-up.

A claim only moves forward: an acknowledgment for a claim already accepted, paid or denied
(an 835 can arrive first) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.claims.domain.acknowledgments import (
    ClaimStatusReport,
    FunctionalAcknowledgment,
    StatusOutcome,
)
from services.claims.domain.claim_state import ClaimState, path

AWAITING_ACKNOWLEDGMENT = frozenset({ClaimState.BATCHED, ClaimState.SUBMITTED, ClaimState.RESUBMITTED})
"""States an acknowledgment may move (batched: the answer came before the send was marked)."""


@dataclass(frozen=True, slots=True)
class TransactionRejection:
    """Every claim of one 837 transaction set (or group) rejected by a 999."""

    group_control_number: int
    transaction_control_number: int | None
    """None: the whole functional group was rejected (AK9) without a verdict per transaction set."""
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    """A 277CA or 277 verdict on one claim."""

    key: str
    """CLM01 (277CA) or the follow-up trace number (277)."""
    accepted: bool
    codes: tuple[str, ...]
    payer_claim_number: str | None


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def rejections_from_999(acknowledgment: FunctionalAcknowledgment) -> list[TransactionRejection]:
    group = _number(acknowledgment.group_control_number)
    if group is None or acknowledgment.functional_id != "HC":
        return []  # only our 837 groups (HC) carry claims; a 276 (HR) answered by a 999 does not
    rejected = []
    for transaction in acknowledgment.transaction_sets:
        if transaction.accepted:
            continue
        reasons = [f"999 IK5 {transaction.status.value}", *(f"IK5 {code}" for code in transaction.error_codes)]
        for error in transaction.segment_errors:
            reasons.append(
                f"IK3 {error.segment_id} at {error.segment_position}"
                + (f" loop {error.loop_id}" if error.loop_id else "")
                + f" code {error.error_code}"
            )
            reasons += [
                f"IK4 {error.segment_id}{element.element_position.split(':')[0].zfill(2)} code {element.error_code}"
                for element in error.element_errors
            ]
        rejected.append(TransactionRejection(group, _number(transaction.control_number), tuple(reasons)))
    if not acknowledgment.transaction_sets and not acknowledgment.status.accepted:
        group_reasons = (
            f"999 AK9 {acknowledgment.status.value}",
            *(f"AK9 {code}" for code in acknowledgment.error_codes),
        )
        rejected.append(TransactionRejection(group, None, group_reasons))
    return rejected


def transaction_of_277ca(report: ClaimStatusReport) -> int | None:
    """Our ST02 from the 277CA's BHT03, which echoes the 837's BHT03 (ISA13 + ST02)."""
    reference = report.reference.strip()
    if len(reference) > 9 and reference.isdigit():
        return int(reference[9:])
    return None


def verdicts_from_277(report: ClaimStatusReport, *, by_trace: bool) -> list[ClaimVerdict]:
    """One verdict per claim of the report; `by_trace` keys a 277 by TRN02 instead of the CLM01."""
    verdicts = []
    for claim in report.claims:
        outcome = claim.outcome
        if outcome is StatusOutcome.UNKNOWN:
            continue
        verdicts.append(
            ClaimVerdict(
                key=claim.trace_number if by_trace else claim.claim_control_number,
                accepted=outcome is not StatusOutcome.REJECTED,
                codes=tuple(str(code) for code in claim.codes),
                payer_claim_number=claim.payer_claim_number,
            )
        )
    return verdicts


def acknowledged_path(current: ClaimState | str, accepted: bool) -> list[tuple[ClaimState, ClaimState]]:
    """The steps an acknowledgment takes a claim through; empty when it no longer applies."""
    current = ClaimState(current)
    if current not in AWAITING_ACKNOWLEDGMENT and not (current is ClaimState.ACCEPTED and not accepted):
        return []
    if current is ClaimState.BATCHED:
        return path(current, ClaimState.SUBMITTED, ClaimState.ACCEPTED if accepted else ClaimState.REJECTED)
    if current is ClaimState.ACCEPTED:
        return path(current, ClaimState.REJECTED)
    return path(current, ClaimState.ACCEPTED if accepted else ClaimState.REJECTED)
