"""Denials HTTP API: the work queue for billing staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.denials.repository import DenialCaseRepository
from services.denials.schemas import DenialCaseOut
from shared.auth import Principal, require_scope
from shared.http import SessionDep

router = APIRouter(prefix="/v1", tags=["denials"])
CanRead = Annotated[Principal, require_scope("denials:read")]


@router.get("/denial-cases")
async def list_open_denial_cases(
    principal: CanRead, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DenialCaseOut]:
    """Open cases, highest denied amount first."""
    rows = await DenialCaseRepository(session, principal.tenant).list_open(limit)
    return [DenialCaseOut.model_validate(row, from_attributes=True) for row in rows]
