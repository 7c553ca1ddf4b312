"""Intake HTTP API for hospital systems."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response, status

from services.intake.domain.encounter import EncounterRejected, check_diagnosis_pointers, total_charge_cents
from services.intake.repository import EncounterRepository
from services.intake.schemas import EncounterIn, EncounterOut
from shared.auth import Principal, require_scope
from shared.events.catalog import EncounterCodedV1
from shared.http import OutboxDep, SessionDep

router = APIRouter(prefix="/v1", tags=["encounters"])
CanWrite = Annotated[Principal, require_scope("encounters:write")]
CanRead = Annotated[Principal, require_scope("encounters:read")]


@router.post(
    "/encounters",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already received: the first result, nothing new created."}},
)
async def receive_encounter(
    encounter: EncounterIn, principal: CanWrite, session: SessionDep, outbox: OutboxDep, response: Response
) -> EncounterOut:
    """Accept a coded encounter; repeating the same external id returns the first result."""
    try:
        check_diagnosis_pointers(encounter.lines, len(encounter.diagnosis_codes))
    except EncounterRejected as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[{"loc": ["body", *exc.location], "msg": exc.message, "type": "value_error"}],
        ) from None
    repository = EncounterRepository(session, principal.tenant)
    encounter_id = uuid.uuid4()
    row = await repository.add(
        {
            "id": encounter_id,
            "external_encounter_id": encounter.external_encounter_id,
            "claim_type": encounter.claim_type,
            "total_charge_cents": total_charge_cents(encounter.lines),
            "currency": encounter.currency,
            "coding": encounter.model_dump(mode="json"),
        }
    )
    if row is None:
        existing = await repository.get_by_external_id(encounter.external_encounter_id)
        if existing is None:  # pragma: no cover - the conflicting row was committed before our read
            raise HTTPException(status.HTTP_409_CONFLICT, detail="encounter is being received concurrently")
        response.status_code = status.HTTP_200_OK
        return EncounterOut.model_validate(existing, from_attributes=True)
    await outbox.add(
        session,
        tenant=principal.tenant,
        subject=str(encounter_id),
        payload=EncounterCodedV1(encounter_id=encounter_id, **encounter.model_dump()),
    )
    return EncounterOut.model_validate(row, from_attributes=True)


@router.get("/encounters/{encounter_id}")
async def get_encounter(encounter_id: uuid.UUID, principal: CanRead, session: SessionDep) -> EncounterOut:
    row = await EncounterRepository(session, principal.tenant).get(encounter_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="encounter not found")
    return EncounterOut.model_validate(row, from_attributes=True)
