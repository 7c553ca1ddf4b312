"""Settings only the notifications service reads (prefix CLAIMFLOW_NOTIFICATIONS_): how webhooks are sent and
retried, where their secrets' key comes from, and what ops alerts watch and whom they tell."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.notifications.statement_settings import StatementSettings

DEFAULT_RETRY_SCHEDULE_S = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Standard Webhooks' schedule: the first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h."""


class NotificationsSettings(StatementSettings):
    """Everything the notifications service reads: the statement settings it extends, webhooks and alerts."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_NOTIFICATIONS_", env_file=".env", extra="ignore")

    # --- webhooks -------------------------------------------------------------------------------
    run_webhooks: bool = Field(True, description="Send due webhook deliveries from this process.")
    webhook_interval_s: float = Field(0.5, gt=0, description="Seconds between looks for due deliveries when idle.")
    webhook_batch: int = Field(500, ge=1, le=5000, description="Deliveries claimed per round.")
    webhook_max_in_flight: int = Field(256, ge=1, description="Requests in flight at once per process.")
    webhook_max_per_target: int = Field(
        64,
        ge=1,
        description="Connections at once to one receiver (host and port), so one slow receiver cannot take "
        "every slot of the process.",
    )
    webhook_timeout_s: float = Field(15.0, gt=0, le=30, description="Per-request timeout (15-30 s).")
    webhook_retry_schedule_s: tuple[float, ...] = Field(
        DEFAULT_RETRY_SCHEDULE_S,
        min_length=1,
        description="Delay before each attempt (the first is the first attempt's); JSON list. Then it has failed.",
    )
    webhook_retry_jitter: float = Field(0.2, ge=0, lt=1, description="Each delay varies by up to this fraction.")
    webhook_disable_after_failures: int = Field(
        15, ge=1, description="Consecutive failed attempts that disable a subscription (with the next setting)."
    )
    webhook_disable_after_s: float = Field(
        5 * 24 * 3600.0, ge=0, description="... and only when the subscription has been failing this long."
    )
    webhook_secret_rotation_grace_s: float = Field(
        24 * 3600.0, ge=0, description="How long the previous secret still signs beside a rotated one."
    )
    webhook_allow_private_targets: bool | None = Field(
        None,
        description="Allow http:// and private or loopback targets. Default: only in development; refused in "
        "production.",
    )
    secrets_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 bytes: the AES-256-GCM key webhook secrets are encrypted with at rest. "
        "Required in production (development and tests use a fixed development key).",
    )

    # --- ops alerts -----------------------------------------------------------------------------
    run_alerts: bool = Field(True, description="Evaluate ops alerts from this process.")
    alert_interval_s: float = Field(30.0, gt=0, description="Seconds between alert evaluations.")
    alert_metrics_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Service name to its /metrics URL, JSON: {"claims": "http://claims:8002/metrics"}.',
    )
    alert_consumer_lag: int = Field(10_000, ge=1, description="Consumer lag (messages, per group) that alerts.")
    alert_outbox_age_s: float = Field(300.0, gt=0, description="Age of the oldest unpublished outbox row that alerts.")
    alert_stuck_after_s: dict[str, float] = Field(
        default_factory=lambda: {
            "submitted": 2 * 86400.0,
            "resubmitted": 2 * 86400.0,
            "accepted": 45 * 86400.0,
            "rejected": 7 * 86400.0,
        },
        description="Claim state to the seconds after which a claim still in it is stuck, JSON.",
    )
    alert_dead_letter_quiet_s: float = Field(
        900.0, gt=0, description="A dead-letter alert resolves once no new dead letter arrived for this long."
    )
    alert_repeat_s: float = Field(3600.0, gt=0, description="A firing alert is repeated at most this often.")
    alert_webhook_url: str | None = Field(None, description="Where alerts are POSTed (signed when a secret is set).")
    alert_webhook_secret: SecretStr | None = Field(None, description="Standard Webhooks secret (whsec_...).")
    alert_email_to: list[str] = Field(default_factory=list, description="Alert recipients, JSON list.")
    smtp_from: str = "claimflow-alerts@localhost"
