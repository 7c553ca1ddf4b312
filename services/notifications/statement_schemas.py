"""HTTP shapes of patient statements: delivery preferences, statement runs, statements."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.notifications.domain.statements import Stage


class StatementPreferencesIn(BaseModel):
    delivery: Literal["email", "paper", "none"] = Field(description="`none` opts the patient out of statements.")
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Required when delivery is email.",
    )

    @model_validator(mode="after")
    def _email_for_email(self) -> StatementPreferencesIn:
        if self.delivery == "email" and self.email is None:
            raise ValueError("email is required when delivery is email")
        return self


class StatementPreferencesOut(BaseModel):
    patient_id: uuid.UUID
    delivery: Literal["email", "paper", "none"]
    email: str | None
    has_mailing_address: bool


class StatementRunIn(BaseModel):
    as_of: dt.date | None = Field(default=None, description="The run's date (default today): dunning counts from it.")


class StatementRunOut(BaseModel):
    as_of: dt.date
    statement_ids: list[uuid.UUID]
    stages: dict[str, int]
    deliveries: dict[str, int]
    print_batch_id: uuid.UUID | None
    emails_sent: int


class StatementLineOut(BaseModel):
    claim_control_number: str
    service_date: dt.date | None
    description: str
    charge_cents: int
    insurance_paid_cents: int
    insurance_adjusted_cents: int
    patient_owes_cents: int


class PaymentLineOut(BaseModel):
    received_on: dt.date
    amount_cents: int


class StatementOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    number: str
    stage: Stage
    cycle: int
    statement_date: dt.date
    due_date: dt.date
    currency: str
    charges_cents: int
    insurance_paid_cents: int
    insurance_adjusted_cents: int
    patient_owes_cents: int
    payments_cents: int
    balance_cents: int
    amount_due_cents: int
    lines: list[StatementLineOut]
    payments: list[PaymentLineOut]
    delivery: Literal["email", "paper", "none"]
    delivery_status: str
    delivered_at: dt.datetime | None
    print_batch_id: uuid.UUID | None
