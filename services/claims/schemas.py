"""HTTP shapes of the claims API."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel


class ClaimOut(BaseModel):
    id: uuid.UUID
    encounter_id: uuid.UUID
    claim_type: str
    payer_id: str
    state: str
    total_charge_cents: int
    currency: str
    line_count: int
    created_at: dt.datetime
