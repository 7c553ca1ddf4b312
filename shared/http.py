"""FastAPI dependencies shared by services: a session per request committed before the response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import unit_of_work
from shared.messaging.outbox import Outbox


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.runtime.sessions) as session:
        yield session


def get_outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.runtime.outbox
    return outbox


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
