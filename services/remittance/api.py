"""Remittance HTTP API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, status

from services.remittance.repository import SubmittedClaimRepository
from services.remittance.schemas import SubmittedClaimOut
from shared.auth import Principal, require_scope
from shared.http import SessionDep

router = APIRouter(prefix="/v1", tags=["remittance"])
CanRead = Annotated[Principal, require_scope("remittance:read")]


@router.get("/submitted-claims/{claim_control_number}")
async def get_submitted_claim(claim_control_number: str, principal: CanRead, session: SessionDep) -> SubmittedClaimOut:
    """A claim awaiting remittance, by its claim control number (CLP01 of the 835)."""
    row = await SubmittedClaimRepository(session, principal.tenant).get_by_control_number(claim_control_number)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="submitted claim not found")
    return SubmittedClaimOut.model_validate(row, from_attributes=True)
