"""Settings of patient statements (prefix CLAIMFLOW_NOTIFICATIONS_, shared with the rest of notifications):
the tenant's statement cycle, how statements are delivered (SMTP, signed links) and what they say about
paying and financial assistance."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifications.domain.statements import StatementPolicy

DEVELOPMENT_LINK_SECRET = "claimflow-development-statement-link-secret"  # noqa: S105 - refused in production


class StatementSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_NOTIFICATIONS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "production",
        validation_alias="CLAIMFLOW_ENVIRONMENT",
        description="Production unless said otherwise, like the service settings.",
    )
    run_statements: bool = Field(True, description="Run the statement cycle periodically from this process.")
    statement_interval_s: float = Field(3600.0, gt=0, description="Seconds between periodic statement runs.")
    statement_cycle_days: int = Field(30, ge=1, description="Length of the tenant's statement cycle.")
    statement_cycle_anchor: dt.date = Field(dt.date(2026, 1, 1), description="The first day of cycle 0.")
    statement_due_days: int = Field(30, ge=0, description="A first statement is due this many days after its date.")
    statement_notice_due_days: int = Field(15, ge=0, description="A past-due notice is due this many days later.")
    statement_min_days_between: int = Field(25, ge=0, description="Never two statements closer than this.")
    statement_link_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_LINK_SECRET), description="HMAC key of statement links; at least 32 characters."
    )
    statement_link_ttl_days: int = Field(30, ge=1, le=180, description="How long an emailed link opens the page.")
    statement_page_base_url: str = Field(
        "http://127.0.0.1:8005", description="Public base URL of this service, for the links in emails."
    )
    statement_organization: str = Field("Your care provider", description="Who the statement is from.")
    statement_phone: str = Field("the billing office", description="Where patients call about their bill.")
    statement_assistance_notice: str = Field(
        "Financial assistance is available to eligible patients. Ask us for an application or a plain-language "
        "summary of the policy, free of charge.",
        description="The financial-assistance notice every statement carries (IRS 501(r)).",
    )
    statement_email_from: str = Field("statements@localhost", description="Sender of statement emails.")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False

    @model_validator(mode="after")
    def _refuse_weak_link_secret(self) -> StatementSettings:
        secret = self.statement_link_secret.get_secret_value()
        if len(secret) < 32:
            raise ValueError("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET must be at least 32 characters")
        if self.environment == "production" and secret == DEVELOPMENT_LINK_SECRET:
            raise ValueError("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET must be set in production")
        return self

    @property
    def policy(self) -> StatementPolicy:
        return StatementPolicy(
            cycle_days=self.statement_cycle_days,
            cycle_anchor=self.statement_cycle_anchor,
            due_days=self.statement_due_days,
            notice_due_days=self.statement_notice_due_days,
            min_days_between=self.statement_min_days_between,
        )
