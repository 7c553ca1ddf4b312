"""Client options for one Kafka principal: SASL/SCRAM credentials and TLS only where configured."""

from __future__ import annotations

import pytest

from shared.messaging.kafka_access import KafkaAccess, access_from_env


def test_plaintext_access_names_only_the_servers() -> None:
    assert KafkaAccess("127.0.0.1:9092").client_options() == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_a_principal_gets_scram_credentials() -> None:
    options = KafkaAccess("k:9092").as_principal("claims", "pw-1").client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("claims", "pw-1")
    assert "ssl_context" not in options


def test_tls_builds_an_ssl_context_and_stays_on_when_the_principal_changes() -> None:
    tls = KafkaAccess("k:9093", security_protocol="SASL_SSL", username="a", password="b")
    assert tls.client_options()["ssl_context"].check_hostname
    assert tls.as_principal("denials", "c").security_protocol == "SASL_SSL"


def test_sasl_without_a_password_is_refused() -> None:
    with pytest.raises(ValueError, match="password"):
        KafkaAccess("k:9092", security_protocol="SASL_PLAINTEXT", username="a").client_options()


def test_env_round_trip_for_tools() -> None:
    access = KafkaAccess("k:9092").as_principal("admin", "secret-1")
    again = access_from_env("k:9092", access.env())
    assert again == access
    assert access_from_env("k:9092", {}) == KafkaAccess("k:9092")
