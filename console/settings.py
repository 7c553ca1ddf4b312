"""The console's settings, from the environment (`CLAIMFLOW_CONSOLE_*`, plus the shared auth secret)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_CONSOLE_", extra="ignore")

    intake_url: str = "http://127.0.0.1:8001"
    claims_url: str = "http://127.0.0.1:8002"
    remittance_url: str = "http://127.0.0.1:8003"
    denials_url: str = "http://127.0.0.1:8004"
    notifications_url: str = "http://127.0.0.1:8005"
    analytics_dir: Path = Field(Path(".local") / "analytics", description="Where `claimflow analytics sink` lands.")
    kafka_bootstrap_servers: str | None = Field(None, description="For the dead-letter topics; none: panel off.")
    metrics_interval_s: float = Field(10.0, gt=0, description="Seconds between /metrics samples (rates).")
    secure_cookie: bool = Field(False, description="Mark the session cookie Secure (behind HTTPS).")
    environment: Literal["development", "test", "production"] = Field(
        "production",
        validation_alias="CLAIMFLOW_ENVIRONMENT",
        description="HS256 development tokens only in development.",
    )
    auth_secret: SecretStr = Field(validation_alias="CLAIMFLOW_AUTH_SECRET")
    auth_issuer: str = "claimflow"
    auth_audience: str = "claimflow"

    def service_urls(self) -> dict[str, str]:
        return {
            "intake": self.intake_url.rstrip("/"),
            "claims": self.claims_url.rstrip("/"),
            "remittance": self.remittance_url.rstrip("/"),
            "denials": self.denials_url.rstrip("/"),
            "notifications": self.notifications_url.rstrip("/"),
        }
