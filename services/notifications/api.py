"""Notifications HTTP API: what happened to one claim or encounter, in order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.notifications.repository import ActivityRepository
from services.notifications.schemas import ActivityOut
from shared.auth import Principal, require_scope
from shared.http import SessionDep

router = APIRouter(prefix="/v1", tags=["activity"])
CanRead = Annotated[Principal, require_scope("notifications:read")]


@router.get("/activity/{subject}")
async def activity_for_subject(subject: str, principal: CanRead, session: SessionDep) -> list[ActivityOut]:
    rows = await ActivityRepository(session, principal.tenant).for_subject(subject)
    return [ActivityOut.model_validate(row, from_attributes=True) for row in rows]
