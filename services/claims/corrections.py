"""Claims consumes `claim-correction-requested` from the denials service: a frequency-7 replacement or a
frequency-8 void of an adjudicated claim, with REF*F8 = the payer's claim control number (CLP07).

The new claim is built from the original's stored encounter, scrubbed like any claim and left ready
(or on hold) for the next 837 batch; `claim-corrected` tells denials its number. The action id is the
primary key of `claim_corrections`, so a repeated request builds nothing twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.domain.claim_state import ClaimState, path
from services.claims.models import messaging, metadata
from services.claims.repository import ClaimRepository, StreamWrites
from services.claims.service import _claim_values, _history, _line_rows, _Scrubber, _verdict, claim_control_number
from services.claims.settings import ClaimsSettings
from shared.events.catalog import ClaimCorrectedV1, ClaimCorrectionRequestedV1, EncounterCodedV1
from shared.events.envelope import EventEnvelope
from shared.messaging.consumer import PoisonMessage, Subscription
from shared.messaging.outbox import Outbox
from shared.messaging.topics import CLAIM_CORRECTIONS

OUTBOX = Outbox(messaging.outbox, source="/claimflow/claims")
claim_corrections = sa.Table(
    "claim_corrections",
    metadata,
    sa.Column("action_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("case_id", sa.Uuid, nullable=False),
    sa.Column("original_claim_id", sa.Uuid, nullable=False),
    sa.Column("corrected_claim_id", sa.Uuid, nullable=False),
    sa.Column("frequency_code", sa.String(1), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


async def build_correction(
    session: AsyncSession, tenant: str, request: ClaimCorrectionRequestedV1, settings: ClaimsSettings, today: dt.date
) -> ClaimCorrectedV1 | None:
    """The corrected or void claim, or None when this action already built one."""
    if request.claim_id is None:
        raise PoisonMessage(f"correction of {request.claim_control_number} names no claim id")
    original = await ClaimRepository(session, tenant).get(request.claim_id)
    if original is None:
        raise PoisonMessage(f"claim {request.claim_control_number} is not known to claims")
    payer_number = request.payer_claim_control_number or original.payer_claim_number
    if not payer_number:
        raise PoisonMessage(f"claim {request.claim_control_number} has no payer claim number for REF*F8")
    claim_id = uuid.uuid4()
    recorded = await session.execute(
        insert(claim_corrections)
        .values(
            action_id=request.action_id,
            tenant_id=tenant,
            case_id=request.case_id,
            original_claim_id=original.id,
            corrected_claim_id=claim_id,
            frequency_code=request.frequency_code,
        )
        .on_conflict_do_nothing(index_elements=["action_id"])
        .returning(claim_corrections.c.action_id)
    )
    if recorded.first() is None:
        return None
    encounter = EncounterCodedV1.model_validate(original.document).model_copy(
        update={
            "frequency_code": request.frequency_code,
            "original_claim_number": payer_number,
            "prior_authorization": request.prior_authorization or original.document.get("prior_authorization"),
        }
    )
    writes = StreamWrites(session)
    scrubber = _Scrubber(writes, settings, today)
    context = (await scrubber.contexts([(tenant, encounter)], exclude=(original.id,)))[(tenant, encounter.claim_type)]
    _, findings = scrubber.scrub(encounter, context)
    state, reason = _verdict(findings)
    number = claim_control_number(await writes.allocate_claim_numbers(tenant, 1))
    values = _claim_values(encounter)
    values["document"] = encounter.model_dump(mode="json")
    await writes.insert_claims(
        [
            {
                "id": claim_id,
                "tenant_id": tenant,
                # The original keeps the encounter's one claim; the correction gets an id of its own.
                "encounter_id": uuid.uuid5(original.encounter_id, f"correction:{request.action_id}"),
                "claim_control_number": number,
                "state": state,
                "findings": [f.as_json() for f in findings],
                "responsibility": original.responsibility,
                **values,
            }
        ]
    )
    await writes.insert_lines(_line_rows(claim_id, tenant, encounter))
    kind = "replacement" if request.frequency_code == "7" else "void"
    steps: list[tuple[ClaimState | None, ClaimState]] = [
        (None, ClaimState.DRAFT),
        *path(ClaimState.DRAFT, ClaimState.SCRUBBED, state),
    ]
    await writes.record_transitions(
        _history(
            claim_id,
            tenant,
            steps,
            [f"{kind} of {original.claim_control_number} ({request.reason})", f"{len(findings)} finding(s)", reason],
        )
    )
    return ClaimCorrectedV1(
        action_id=request.action_id,
        case_id=request.case_id,
        original_claim_id=original.id,
        original_claim_control_number=original.claim_control_number,
        claim_id=claim_id,
        claim_control_number=number,
        frequency_code=request.frequency_code,
        payer_claim_control_number=payer_number,
    )


async def on_correction_requested(session: AsyncSession, envelopes: list[EventEnvelope]) -> None:
    settings = ClaimsSettings()
    today = dt.datetime.now(dt.UTC).date()
    for envelope in envelopes:
        request: ClaimCorrectionRequestedV1 = envelope.payload_as(ClaimCorrectionRequestedV1)
        corrected = await build_correction(session, envelope.tenant, request, settings, today)
        if corrected is not None:
            await OUTBOX.add(session, tenant=envelope.tenant, subject=str(corrected.claim_id), payload=corrected)


SUBSCRIPTION = Subscription(
    group_id="claims-corrections",
    topics=(CLAIM_CORRECTIONS.name,),
    handlers={"claim-correction-requested.v1": on_correction_requested},
)
