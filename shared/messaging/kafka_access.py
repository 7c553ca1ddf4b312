"""How one principal reaches the broker: bootstrap servers, SASL/SCRAM credentials and TLS, as client options.

Every aiokafka client of the project is built from a `KafkaAccess`, so a service connects as its own
principal (whose ACLs let it write only the topics it owns and read only those it consumes) and the
tools as the admin principal.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, cast

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
ENV_PREFIX = "CLAIMFLOW_KAFKA_"


class ClientOptions(TypedDict, total=False):
    """Keyword arguments every aiokafka client (producer, consumer, admin) takes."""

    bootstrap_servers: str
    security_protocol: str
    sasl_mechanism: str
    sasl_plain_username: str
    sasl_plain_password: str
    ssl_context: ssl.SSLContext


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mechanism: SaslMechanism = "SCRAM-SHA-512"
    ssl_cafile: str | None = None
    """CA bundle that signed the brokers' certificates (SASL_SSL/SSL); none: the system's."""
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SASL_SSL", "SSL")

    def as_principal(self, username: str, password: str) -> KafkaAccess:
        """The same broker reached as another SASL principal."""
        protocol: SecurityProtocol = "SASL_SSL" if self.uses_tls else "SASL_PLAINTEXT"
        return replace(self, security_protocol=protocol, username=username, password=password)

    def client_options(self) -> ClientOptions:
        options: ClientOptions = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_sasl:
            if not (self.username and self.password):
                raise ValueError(f"{self.security_protocol} needs a SASL username and password")
            options["sasl_mechanism"] = self.mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        if self.uses_tls:
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        return options

    def env(self) -> dict[str, str]:
        """The `CLAIMFLOW_KAFKA_*` variables that give a process (a service, the CLI) this access."""
        values = {
            "BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "SECURITY_PROTOCOL": self.security_protocol,
            "SASL_MECHANISM": self.mechanism,
            "SASL_USERNAME": self.username,
            "SASL_PASSWORD": self.password,
            "SSL_CAFILE": self.ssl_cafile,
            "SSL_CERTFILE": self.ssl_certfile,
            "SSL_KEYFILE": self.ssl_keyfile,
        }
        return {ENV_PREFIX + key: value for key, value in values.items() if value}

    def __str__(self) -> str:
        who = f"{self.username}@" if self.username else ""
        return f"{self.security_protocol.lower()}://{who}{self.bootstrap_servers}"


def access_from_env(bootstrap_servers: str, environ: Mapping[str, str] | None = None) -> KafkaAccess:
    """`bootstrap_servers` reached with the `CLAIMFLOW_KAFKA_*` security settings of the environment (tools)."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(ENV_PREFIX + name) or None

    protocol = get("SECURITY_PROTOCOL") or ("SASL_PLAINTEXT" if get("SASL_USERNAME") else "PLAINTEXT")
    return KafkaAccess(
        bootstrap_servers=bootstrap_servers,
        security_protocol=cast(SecurityProtocol, protocol),
        username=get("SASL_USERNAME"),
        password=get("SASL_PASSWORD"),
        mechanism=cast(SaslMechanism, get("SASL_MECHANISM") or "SCRAM-SHA-512"),
        ssl_cafile=get("SSL_CAFILE"),
        ssl_certfile=get("SSL_CERTFILE"),
        ssl_keyfile=get("SSL_KEYFILE"),
    )
