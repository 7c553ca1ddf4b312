"""A primary claim's payment reversed (CLP02 22) takes back what its secondary claim was built from, so the
secondary is withdrawn: cancelled while no payer has it (on hold, ready, rejected), otherwise voided by a
frequency-8 claim of its own with REF*F8 = the secondary payer's claim number, scrubbed and batched like any
claim (held for that number when the secondary payer has not given one yet). Either way the secondary is
marked withdrawn, so a re-payment of the primary builds a new one. Moves go through `lifecycle.change_states`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.claim_state import ClaimState, can_transition
from services.claims.lifecycle import StateChange, StatusNotice, change_states, note, to
from services.claims.repository import ClaimRepository
from services.claims.service import build_corrected_claim
from services.claims.settings import ClaimsSettings
from shared.events.catalog import EncounterCodedV1, PaymentReceivedV1
from shared.messaging.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Withdrawal:
    secondary_claim_number: str | None
    void_claim_number: str | None = None
    """None: cancelled before it was sent; else the void that withdraws it from the secondary payer."""

    @property
    def summary(self) -> str:
        """The primary's history note."""
        if self.void_claim_number is None:
            return f"secondary claim {self.secondary_claim_number} cancelled: the payment it carried was reversed"
        return f"secondary claim {self.secondary_claim_number} voided by {self.void_claim_number}: payment reversed"


async def withdraw_secondary(
    session: AsyncSession,
    outbox: Outbox,
    tenant: str,
    primary_id: uuid.UUID,
    reversal: PaymentReceivedV1,
    settings: ClaimsSettings,
    now: dt.datetime,
) -> Withdrawal | None:
    """Withdraw the primary's secondary claim in force; None when it has none."""
    repository = ClaimRepository(session, tenant)
    secondary = await repository.secondary_for_withdrawal(primary_id)
    if secondary is None:
        return None
    why = f"primary claim {reversal.claim_control_number}'s payment reversed (835 trace {reversal.trace_number})"
    await repository.mark_withdrawn(secondary.id, now)
    if can_transition(secondary.state, ClaimState.CANCELLED):
        notice = StatusNotice("835", now, ("CLP02 22",))  # the primary's 835 said so: claim-status-changed out
        change = StateChange(secondary.id, to(ClaimState.CANCELLED), f"{why}: withdrawn", notice=notice)
        await change_states(session, outbox, [change])
        return Withdrawal(secondary.claim_control_number)
    assert secondary.document is not None, "a secondary claim keeps the encounter it was built from"
    void = EncounterCodedV1.model_validate(secondary.document).model_copy(
        update={"frequency_code": "8", "original_claim_number": secondary.payer_claim_number}
    )
    number = await build_corrected_claim(
        session,
        secondary,
        void,
        claim_id=uuid.uuid5(secondary.id, f"withdrawal:{reversal.payment_id}"),
        encounter_id=uuid.uuid5(secondary.encounter_id, f"withdrawal:{reversal.payment_id}"),
        settings=settings,
        today=now.date(),
        why=f"void of secondary {secondary.claim_control_number}: {why}",
    )
    await note(session, secondary.id, tenant, secondary.state, f"{why}: voided by {number}")
    return Withdrawal(secondary.claim_control_number, number)
