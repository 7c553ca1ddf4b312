"""HTTP shapes of the denials API."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel


class DenialCaseOut(BaseModel):
    id: uuid.UUID
    claim_control_number: str
    payer_id: str
    trace_number: str
    denial: str
    denied_cents: int
    currency: str
    carcs: list[str]
    rarcs: list[str]
    status: str
    opened_at: dt.datetime
