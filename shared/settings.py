"""Service configuration from the environment (prefix CLAIMFLOW_), with an optional .env file."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.messaging.kafka_access import KafkaAccess, SaslMechanism, SecurityProtocol

DEVELOPMENT_AUTH_SECRET = "claimflow-development-secret-change-me"  # noqa: S105 - refused outside development
PUBLISHED_AUTH_SECRETS = frozenset(
    {DEVELOPMENT_AUTH_SECRET, "dev-only-auth-secret-not-for-real-use-0123456789"}  # the compose file's fallback
)
"""Secrets written in this repository: anyone can sign tokens with them, so only development takes them."""
MIN_AUTH_SECRET_LENGTH = 32


class InsecureSettings(ValueError):
    """Settings a service refuses to start with."""


class ServiceSettings(BaseSettings):
    """Settings every service shares; `database_url` connects as the service's own role."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "production"
    """Production unless said otherwise: a forgotten variable must not open development shortcuts."""
    database_url: str = "postgresql+asyncpg://localhost/claimflow"
    database_pool_size: int = 10
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    """SASL_PLAINTEXT (loopback, private networks) or SASL_SSL; production refuses PLAINTEXT."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    """The service's own Kafka principal (its ACLs: write its own topics, read what it consumes)."""
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    auth_secret: SecretStr = SecretStr(DEVELOPMENT_AUTH_SECRET)
    auth_issuer: str = "claimflow"
    auth_audience: str = "claimflow"
    patient_match_key: SecretStr | None = None
    """Key of the member-id digests claims and remittance compare when a suspended payment is matched by hand
    (shared/patient_match.py); unset, one is derived from the auth secret."""
    kafka_send_timeout_s: float = 10.0
    kafka_stop_timeout_s: float = 10.0
    consumer_max_attempts: int = 5
    consumer_batch_size: int = 500
    consumer_max_in_flight: int = 3
    """Round batches a consumer applies at once, each in its own transaction on its own connection: one batch's
    wait on Postgres overlaps the next one's Python work. Never two batches of one partition at once; 1: serial.
    With 2, a batch's statements (about seven round trips) left the consumer idle whenever both waited on Postgres at
    once: draining a backlog, the notifications consumer ran at about two thirds of a core (`bench/messaging.py`)."""
    consumer_fetch_min_bytes: int = 1
    """Bytes a consumer's fetch waits for at the broker (up to `consumer_fetch_max_wait_ms`): 1 answers as soon as
    any assigned partition has a record."""
    consumer_fetch_max_wait_ms: int = 500
    consumer_group_prefix: str = ""
    """Prepended to every consumer group: deployments sharing one broker (or test sessions) stay apart."""
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    outbox_retention_days: int = 7
    """Published outbox rows older than this are deleted by the service that runs the relay (0: kept for ever);
    unpublished rows are never deleted."""
    run_consumers: bool = True
    run_relay: bool = True
    log_level: str = "INFO"
    max_body_bytes: int = 4 * 1024 * 1024
    """Largest request body taken by routes without a limit of their own (413 beyond it)."""

    def kafka_access(self) -> KafkaAccess:
        return KafkaAccess(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None,
            mechanism=self.kafka_sasl_mechanism,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
        )

    def check_kafka_security(self) -> None:
        """Production talks to Kafka as an authenticated principal (its ACLs), never anonymously."""
        access = self.kafka_access()
        if self.environment == "production" and not access.uses_sasl:
            raise InsecureSettings(
                "CLAIMFLOW_KAFKA_SECURITY_PROTOCOL must be SASL_SSL or SASL_PLAINTEXT in production, "
                f"with CLAIMFLOW_KAFKA_SASL_USERNAME/PASSWORD (now {access.security_protocol})"
            )
        if access.uses_sasl and not (access.username and access.password):
            raise InsecureSettings(f"{access.security_protocol} needs CLAIMFLOW_KAFKA_SASL_USERNAME and _PASSWORD")

    def check_auth_secret(self) -> None:
        """Checked when a service starts (not when its module is imported, so tools can import it)."""
        secret = self.auth_secret.get_secret_value()
        if self.environment != "development" and secret in PUBLISHED_AUTH_SECRETS:
            raise InsecureSettings(
                f"CLAIMFLOW_AUTH_SECRET is a secret published in the repository; set a real one "
                f"(environment {self.environment})"
            )
        if len(secret) < MIN_AUTH_SECRET_LENGTH:
            raise InsecureSettings(f"CLAIMFLOW_AUTH_SECRET must be at least {MIN_AUTH_SECRET_LENGTH} characters")
