"""Service configuration from the environment (prefix CLAIMFLOW_), with an optional .env file."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_AUTH_SECRET = "claimflow-development-secret-change-me"  # noqa: S105 - refused outside development


class ServiceSettings(BaseSettings):
    """Settings every service shares; `database_url` connects as the service's own role."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://localhost/claimflow"
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    auth_secret: SecretStr = SecretStr(DEVELOPMENT_AUTH_SECRET)
    auth_issuer: str = "claimflow"
    auth_audience: str = "claimflow"
    kafka_send_timeout_s: float = 10.0
    kafka_stop_timeout_s: float = 10.0
    consumer_max_attempts: int = 5
    consumer_batch_size: int = 500
    consumer_group_prefix: str = ""
    """Prepended to every consumer group: deployments sharing one broker (or test sessions) stay apart."""
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    run_consumers: bool = True
    run_relay: bool = True
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> ServiceSettings:
        if self.environment == "production" and self.auth_secret.get_secret_value() == DEVELOPMENT_AUTH_SECRET:
            raise ValueError("CLAIMFLOW_AUTH_SECRET must be set to a real secret in production")
        if len(self.auth_secret.get_secret_value()) < 32:
            raise ValueError("CLAIMFLOW_AUTH_SECRET must be at least 32 characters")
        return self
