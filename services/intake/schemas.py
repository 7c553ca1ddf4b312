"""HTTP shapes of the intake API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalog import CodedServiceLine


class EncounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_encounter_id: str = Field(min_length=1, max_length=64, description="The sender's encounter id.")
    claim_type: Literal["professional", "institutional"]
    patient_id: uuid.UUID
    payer_id: str = Field(min_length=1, max_length=80)
    billing_provider_npi: str = Field(pattern=r"^\d{10}$")
    rendering_provider_npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    place_of_service: str = Field(pattern=r"^\d{2}$")
    service_date_from: dt.date
    service_date_to: dt.date
    diagnosis_codes: list[str] = Field(min_length=1, max_length=12)
    lines: list[CodedServiceLine] = Field(min_length=1, max_length=50)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class EncounterOut(BaseModel):
    id: uuid.UUID
    external_encounter_id: str
    claim_type: str
    total_charge_cents: int
    currency: str
    received_at: dt.datetime
