"""A stand-in OIDC provider on 127.0.0.1: a JWKS document served over HTTP and tokens signed with its keys.

Keys can be rotated (a new `kid` published) while the services run, as a real provider does.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/.well-known/jwks.json"
Algorithm = Literal["RS256", "ES256"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: Algorithm
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls, algorithm: Algorithm) -> SigningKey:
        kid = f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        if algorithm == "RS256":
            return cls(kid, algorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return cls(kid, algorithm, ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass
class LocalIdentityProvider:
    issuer: str = "https://login.claimflow.test/"
    audience: str = "claimflow-api"
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.new("RS256")])
    fetches: int = 0
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def start(self) -> LocalIdentityProvider:
        provider = self

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                provider.fetches += 1
                body = json.dumps({"keys": [key.public_jwk() for key in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=self._server.serve_forever, name="test-jwks", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def jwks_url(self) -> str:
        assert self._server is not None, "start() the provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}{JWKS_PATH}"

    def env(self, **overrides: str) -> dict[str, str]:
        """The `CLAIMFLOW_OIDC_*` settings a service or the console needs to take this provider's tokens."""
        return {
            "CLAIMFLOW_OIDC_JWKS_URL": self.jwks_url,
            "CLAIMFLOW_OIDC_ISSUER": self.issuer,
            "CLAIMFLOW_OIDC_AUDIENCE": self.audience,
            **overrides,
        }

    def rotate(self, algorithm: Algorithm = "RS256") -> SigningKey:
        """Publish a new key and sign with it from now on (the old one stays published)."""
        key = SigningKey.new(algorithm)
        self.keys.append(key)
        return key

    def mint(
        self,
        *,
        tenant: str,
        scopes: list[str],
        subject: str = "test-client",
        ttl: dt.timedelta = dt.timedelta(minutes=30),
        key: SigningKey | None = None,
        **claims: Any,
    ) -> str:
        """An access token as the provider would issue it, signed with `key` (default: the newest)."""
        signing = key or self.keys[-1]
        now = dt.datetime.now(dt.UTC)
        body: dict[str, Any] = {
            "sub": subject,
            "tenant": tenant,
            "scope": " ".join(scopes),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(body, signing.private, algorithm=signing.algorithm, headers={"kid": signing.kid})
