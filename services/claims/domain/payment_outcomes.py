"""What a payer's payment (from `payment-received`) means for a claim, and the secondary claim it
may call for. Pure: values in, values out; amounts in integer cents.

Claim outcome of one payment:
- `denied`: nothing paid (CLP02 4, or a processed claim with no payment, e.g. all PR-204);
- `partially_paid`: something paid, but part of the charge is left open beyond the contractual
  adjustments — patient responsibility, or a line paid nothing;
- `paid`: the payer paid and the rest is contractual only.
A reversal (CLP02 22, `reversal_of`) takes the claim back to `accepted`.

Secondary claim: when the claim billed the primary coverage, the stored encounter names a secondary
coverage (`other_coverages`, responsibility S), and the primary left money open for someone else
(patient responsibility > 0, or `next_responsible` says secondary payer), the encounter is billed
again to the secondary payer with the primary's adjudication as loops 2320/2330/2430: paid amount,
claim- and line-level CAS, and the remaining patient liability.
"""

from __future__ import annotations

from typing import Any

from services.claims.domain.claim_state import ClaimState, can_transition
from shared.events.catalog import (
    CoverageDetails,
    EncounterCodedV1,
    PaymentReceivedV1,
    PriorPayerAdjudication,
    PriorPayerAdjustment,
    PriorPayerLine,
)

REVERSAL_STATUS = "22"
DENIED_STATUS = "4"


def payment_outcome(payment: PaymentReceivedV1) -> ClaimState:
    if payment.reversal_of is not None or payment.claim_status_code == REVERSAL_STATUS:
        return ClaimState.ACCEPTED
    if payment.claim_status_code == DENIED_STATUS or payment.paid_cents <= 0:
        return ClaimState.DENIED
    line_denied = any(line.paid_cents == 0 and line.charge_cents > 0 for line in payment.lines)
    if payment.patient_responsibility_cents > 0 or line_denied:
        return ClaimState.PARTIALLY_PAID
    return ClaimState.PAID


def payment_targets(current: ClaimState, outcome: ClaimState) -> list[ClaimState]:
    """The states a payment takes a claim through to its outcome: through `submitted` when the send
    was not yet marked; none when the claim is there already or the machine refuses the move."""
    walk = [ClaimState.SUBMITTED, outcome] if current is ClaimState.BATCHED else [outcome]
    state = current
    for target in walk:
        if state is target or not can_transition(state, target):
            return []
        state = target
    return walk


def reason_codes(payment: PaymentReceivedV1) -> list[str]:
    """CLP02 and each adjustment as group-CARC (with its line), then the RARCs."""
    codes = [f"CLP02 {payment.claim_status_code}"]
    for adjustment in payment.adjustments:
        where = f" line {adjustment.line_number}" if adjustment.line_number is not None else ""
        codes.append(f"{adjustment.group}-{adjustment.carc}{where}")
    return codes + list(payment.remark_codes)


def secondary_coverage(encounter: EncounterCodedV1) -> CoverageDetails | None:
    """The coverage a secondary claim goes to, when this encounter billed the primary."""
    billed = encounter.coverage
    if billed is None or billed.responsibility != "P" or encounter.prior_payer_adjudications:
        return None
    return next((c for c in encounter.other_coverages if c.responsibility == "S"), None)


def needs_secondary(encounter: EncounterCodedV1, payment: PaymentReceivedV1) -> bool:
    if payment.reversal_of is not None or payment_outcome(payment) is ClaimState.ACCEPTED:
        return False
    if secondary_coverage(encounter) is None:
        return False
    return payment.patient_responsibility_cents > 0 or payment.next_responsible == "secondary_payer"


def _adjustment(adjustment: Any) -> PriorPayerAdjustment:
    return PriorPayerAdjustment(
        group=adjustment.group, reason_code=adjustment.carc, amount_cents=adjustment.amount_cents
    )


def primary_adjudication(encounter: EncounterCodedV1, payment: PaymentReceivedV1) -> PriorPayerAdjudication:
    """Loops 2320/2430 from the primary's payment: claim-level CAS, and per matched line its payment and CAS."""
    assert encounter.coverage is not None
    units = {line.line_number: line.units for line in encounter.lines}
    paid_by_line: dict[int, int] = {}
    for line in payment.lines:
        if line.line_number is not None and line.line_number in units:
            paid_by_line[line.line_number] = paid_by_line.get(line.line_number, 0) + line.paid_cents
    by_line: dict[int, list[PriorPayerAdjustment]] = {}
    claim_level: list[PriorPayerAdjustment] = []
    for adjustment in payment.adjustments:
        if adjustment.line_number is not None and adjustment.line_number in units:
            by_line.setdefault(adjustment.line_number, []).append(_adjustment(adjustment))
        else:
            claim_level.append(_adjustment(adjustment))
    lines = [
        PriorPayerLine(
            line_number=number,
            paid_cents=paid_by_line.get(number, 0),
            paid_units=units[number] if paid_by_line.get(number, 0) > 0 else 0,
            adjustments=by_line.get(number, []),
        )
        for number in sorted(set(paid_by_line) | set(by_line))
    ]
    return PriorPayerAdjudication(
        coverage_id=encounter.coverage.coverage_id,
        paid_cents=payment.paid_cents,
        adjudication_date=payment.paid_date,
        claim_adjustments=claim_level,
        lines=lines,
        payer_claim_control_number=payment.payer_claim_control_number,
    )


def secondary_encounter(encounter: EncounterCodedV1, payment: PaymentReceivedV1) -> EncounterCodedV1 | None:
    """The encounter as billed to the secondary payer, or None when no secondary claim is due."""
    if not needs_secondary(encounter, payment):
        return None
    secondary = secondary_coverage(encounter)
    assert secondary is not None and encounter.coverage is not None
    others = [encounter.coverage, *(c for c in encounter.other_coverages if c.coverage_id != secondary.coverage_id)]
    return encounter.model_copy(
        update={
            "payer_id": secondary.payer.payer_id,
            "coverage": secondary,
            "other_coverages": others,
            "prior_payer_adjudications": [primary_adjudication(encounter, payment)],
            "frequency_code": "1",
            "original_claim_number": None,
        }
    )
