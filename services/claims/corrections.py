"""Claims acts on `claim-correction-requested` from the denials service: a frequency-7 replacement or a
frequency-8 void of an adjudicated claim, with REF*F8 = the payer's claim control number (CLP07).

The new claim is built from the original's stored encounter, scrubbed like any claim and left ready
(or on hold) for the next 837 batch; `claim-corrected` tells denials its number. The action id is the
primary key of `claim_corrections`, so a repeated request builds nothing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.repository import ClaimCorrections, ClaimRepository
from services.claims.service import build_corrected_claim
from services.claims.settings import ClaimsSettings
from shared.events.catalog import ClaimCorrectedV1, ClaimCorrectionRequestedV1, EncounterCodedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import PoisonMessage
from shared.messaging.outbox import Outbox


async def build_correction(
    session: AsyncSession, tenant: str, request: ClaimCorrectionRequestedV1, settings: ClaimsSettings, today: dt.date
) -> ClaimCorrectedV1 | None:
    """The corrected or void claim, or None when this action already built one."""
    if request.claim_id is None:
        raise PoisonMessage(f"correction of {request.claim_control_number} names no claim id")
    original = await ClaimRepository(session, tenant).get(request.claim_id)
    if original is None or original.document is None:
        raise PoisonMessage(f"claim {request.claim_control_number} is not known to claims")
    payer_number = request.payer_claim_control_number or original.payer_claim_number
    if not payer_number:
        raise PoisonMessage(f"claim {request.claim_control_number} has no payer claim number for REF*F8")
    claim_id = uuid.uuid4()
    if not await ClaimCorrections(session).record(
        action_id=request.action_id,
        tenant=tenant,
        case_id=request.case_id,
        original_claim_id=original.id,
        corrected_claim_id=claim_id,
        frequency_code=request.frequency_code,
    ):
        return None
    encounter = EncounterCodedV1.model_validate(original.document).model_copy(
        update={
            "frequency_code": request.frequency_code,
            "original_claim_number": payer_number,
            "prior_authorization": request.prior_authorization or original.document.get("prior_authorization"),
        }
    )
    kind = "replacement" if request.frequency_code == "7" else "void"
    number = await build_corrected_claim(
        session,
        original,
        encounter,
        claim_id=claim_id,
        # The original keeps the encounter's one claim; the correction gets an id of its own.
        encounter_id=uuid.uuid5(original.encounter_id, f"correction:{request.action_id}"),
        settings=settings,
        today=today,
        why=f"{kind} of {original.claim_control_number} ({request.reason})",
    )
    return ClaimCorrectedV1(
        action_id=request.action_id,
        case_id=request.case_id,
        original_claim_id=original.id,
        original_claim_control_number=original.claim_control_number or request.claim_control_number,
        claim_id=claim_id,
        claim_control_number=number,
        frequency_code=request.frequency_code,
        payer_claim_control_number=payer_number,
    )


async def correct_claims(
    session: AsyncSession, outbox: Outbox, envelopes: list[EventEnvelope], settings: ClaimsSettings, today: dt.date
) -> None:
    for envelope in envelopes:
        request = envelope.payload_as(ClaimCorrectionRequestedV1)
        corrected = await build_correction(session, envelope.tenant, request, settings, today)
        if corrected is not None:
            await outbox.add(session, tenant=envelope.tenant, subject=str(corrected.claim_id), payload=corrected)
