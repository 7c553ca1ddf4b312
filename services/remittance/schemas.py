"""HTTP shapes of the remittance API."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel


class SubmittedClaimOut(BaseModel):
    claim_id: uuid.UUID
    claim_control_number: str
    payer_id: str
    total_charge_cents: int
    currency: str
    submitted_at: dt.datetime
