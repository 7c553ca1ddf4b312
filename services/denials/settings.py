"""Settings only the denials service reads (prefix CLAIMFLOW_DENIALS_): how appeal letters are sent."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DenialsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_DENIALS_", env_file=".env", extra="ignore")

    run_appeal_sending: bool = Field(True, description="Send stored appeal letters through the clearinghouse.")
    appeal_interval_s: float = Field(1.0, gt=0, description="Seconds between rounds of appeal sending.")
    appeal_batch: int = Field(50, ge=1, le=1000, description="Letters per round.")
