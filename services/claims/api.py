"""Claims HTTP API: claim status for hospital systems and billing staff."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, status

from services.claims.repository import ClaimRepository
from services.claims.schemas import ClaimOut
from shared.auth import Principal, require_scope
from shared.http import SessionDep

router = APIRouter(prefix="/v1", tags=["claims"])
CanRead = Annotated[Principal, require_scope("claims:read")]


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: uuid.UUID, principal: CanRead, session: SessionDep) -> ClaimOut:
    row = await ClaimRepository(session, principal.tenant).get(claim_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="claim not found")
    return ClaimOut.model_validate(row, from_attributes=True)


@router.get("/claims")
async def list_claims_for_encounter(encounter_id: uuid.UUID, principal: CanRead, session: SessionDep) -> list[ClaimOut]:
    rows = await ClaimRepository(session, principal.tenant).list_for_encounter(encounter_id)
    return [ClaimOut.model_validate(row, from_attributes=True) for row in rows]
