"""Auth secrets: a secret written in this repository is refused outside development; production is the default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.settings import DEVELOPMENT_AUTH_SECRET, PUBLISHED_AUTH_SECRETS, InsecureSettings, ServiceSettings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
REAL_SECRET = "k3v9-a-secret-nobody-has-seen-before-2026"


def settings(environment: str, secret: str) -> ServiceSettings:
    return ServiceSettings(environment=environment, auth_secret=SecretStr(secret))


def test_the_default_environment_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMFLOW_ENVIRONMENT", raising=False)
    assert ServiceSettings(_env_file=None).environment == "production"


def test_the_compose_files_fallback_secret_is_known_as_published() -> None:
    fallback = re.search(r"CLAIMFLOW_AUTH_SECRET:-([^}]+)\}", COMPOSE.read_text())
    assert fallback is not None
    assert fallback.group(1) in PUBLISHED_AUTH_SECRETS


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("secret", sorted(PUBLISHED_AUTH_SECRETS))
def test_published_secrets_are_refused_outside_development(environment: str, secret: str) -> None:
    with pytest.raises(InsecureSettings, match="published"):
        settings(environment, secret).check_auth_secret()


def test_development_takes_the_development_secret_and_everyone_takes_a_real_one() -> None:
    settings("development", DEVELOPMENT_AUTH_SECRET).check_auth_secret()
    for environment in ("development", "test", "production"):
        settings(environment, REAL_SECRET).check_auth_secret()


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(InsecureSettings, match="at least 32"):
        settings("production", "short-secret").check_auth_secret()


def test_production_talks_to_kafka_only_as_an_authenticated_principal() -> None:
    with pytest.raises(InsecureSettings, match="SASL"):
        ServiceSettings(environment="production", auth_secret=SecretStr(REAL_SECRET)).check_kafka_security()
    with pytest.raises(InsecureSettings, match="USERNAME"):
        ServiceSettings(environment="test", kafka_security_protocol="SASL_PLAINTEXT").check_kafka_security()
    ServiceSettings(environment="development").check_kafka_security()
    secured = ServiceSettings(
        environment="production",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="claims",
        kafka_sasl_password=SecretStr("p" * 40),
    )
    secured.check_kafka_security()
    access = secured.kafka_access()
    assert (access.username, access.uses_tls, access.mechanism) == ("claims", True, "SCRAM-SHA-512")
