"""Statement settings refuse a link secret anyone could read in this repository, outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.notifications.statement_settings import DEVELOPMENT_LINK_SECRET, StatementSettings


def test_production_is_the_default_and_refuses_the_published_link_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMFLOW_ENVIRONMENT", raising=False)
    monkeypatch.delenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET", raising=False)
    with pytest.raises(ValidationError, match="STATEMENT_LINK_SECRET must be set in production"):
        StatementSettings()
    monkeypatch.setenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET", "a-real-secret-of-at-least-32-characters!")
    assert StatementSettings().environment == "production"


def test_development_takes_the_published_secret_but_nobody_takes_a_short_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_ENVIRONMENT", "development")
    monkeypatch.delenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET", raising=False)
    assert StatementSettings().statement_link_secret.get_secret_value() == DEVELOPMENT_LINK_SECRET
    monkeypatch.setenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_LINK_SECRET", "short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        StatementSettings()


def test_the_cycle_settings_make_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_ENVIRONMENT", "test")
    monkeypatch.setenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_CYCLE_DAYS", "35")
    monkeypatch.setenv("CLAIMFLOW_NOTIFICATIONS_STATEMENT_DUE_DAYS", "21")
    policy = StatementSettings().policy
    assert (policy.cycle_days, policy.due_days) == (35, 21)
