"""Settings only the remittance service reads (prefix CLAIMFLOW_REMITTANCE_): which tenant an 835 from
the clearinghouse inbound box belongs to, and how the inbound loop paces itself."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.remittance.domain.inbound import ambiguous_default


class RemittanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_REMITTANCE_", env_file=".env", extra="ignore")

    inbound_tenant: str | None = Field(
        None, description="Tenant of inbound 835s whose payee is not in `inbound_payee_tenants`."
    )
    inbound_payee_tenants: dict[str, str] = Field(
        default_factory=dict,
        description='Payee id (N1*PE N104: NPI or TIN) to tenant, as JSON: {"1234567893": "clinic-a"}.',
    )
    run_inbound: bool = Field(True, description="Collect 835s from the clearinghouse (CLAIMFLOW_CLEARINGHOUSE_*).")
    inbound_interval_s: float = Field(1.0, gt=0, description="Seconds between looks into the inbound box.")

    @model_validator(mode="after")
    def _one_tenant_per_claim_number(self) -> Self:
        if (reason := ambiguous_default(self.inbound_tenant, self.inbound_payee_tenants)) is not None:
            raise ValueError(reason)
        return self

    @property
    def inbound_configured(self) -> bool:
        return bool(self.inbound_tenant or self.inbound_payee_tenants)
