"""Bearer credentials: a signed JWT naming the tenant and the scopes granted.

No credential or a bad one answers 401, a missing scope 403. The tenant comes from the credential
only, and every repository query is scoped by it, so another tenant's record answers 404.

Real deployments take OIDC access tokens (RS256/ES256) checked against the provider's JWKS, issuer and
audience; the HS256 tokens signed with `CLAIMFLOW_AUTH_SECRET` are for development only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_bearer = HTTPBearer(auto_error=False, description="JWT with `tenant` and space-separated `scope` claims.")
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    scopes: frozenset[str]


class InvalidCredential(Exception):
    pass


class CredentialVerifier(Protocol):
    def verify(self, token: str) -> Principal: ...


def _principal(claims: dict[str, Any], tenant_claim: str = "tenant") -> Principal:
    tenant = claims.get(tenant_claim)
    if not isinstance(tenant, str) or not tenant:
        raise InvalidCredential("token has no tenant claim")
    scope = claims.get("scope", "")
    if isinstance(scope, str):
        scopes = frozenset(scope.split())
    elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scopes = frozenset(scope)
    else:
        raise InvalidCredential("scope claim must be a space-separated string")
    granted = claims.get("scp")  # some providers (Entra ID, Okta) put scopes in `scp`, a list or a string
    if isinstance(granted, str):
        scopes |= frozenset(granted.split())
    elif isinstance(granted, list):
        scopes |= frozenset(s for s in granted if isinstance(s, str))
    return Principal(subject=str(claims["sub"]), tenant=tenant, scopes=scopes)


@dataclass(frozen=True, slots=True)
class TokenVerifier:
    secret: str
    issuer: str
    audience: str

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidCredential(str(exc)) from None
        return _principal(claims)

    def mint(self, *, subject: str, tenant: str, scopes: list[str], ttl: dt.timedelta) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": subject,
            "tenant": tenant,
            "scope": " ".join(scopes),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)


OidcAlgorithm = Literal["RS256", "ES256"]


def _asymmetric_algorithms() -> list[OidcAlgorithm]:
    return ["RS256", "ES256"]


class OidcSettings(BaseSettings):
    """The identity provider whose access tokens the services take (`CLAIMFLOW_OIDC_*`)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_OIDC_", env_file=".env", extra="ignore")

    jwks_url: str | None = None
    """The provider's JWKS document (`jwks_uri` of its discovery document); unset: OIDC off."""
    issuer: str | None = None
    audience: str | None = None
    algorithms: list[OidcAlgorithm] = Field(default_factory=_asymmetric_algorithms)
    """Asymmetric only: a symmetric algorithm would let anyone holding the public key sign."""
    tenant_claim: str = "tenant"
    jwks_cache_s: float = 300.0
    """How long a fetched key set is used before it is fetched again."""
    refresh_cooldown_s: float = 30.0
    """An unknown `kid` (a rotated key) fetches the set again, at most once per this many seconds."""
    fetch_timeout_s: float = 5.0
    leeway_s: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.jwks_url)

    def problem(self, environment: str) -> str | None:
        """Why a service must not start with these settings in `environment` (None: it may)."""
        if self.enabled and not (self.issuer and self.audience):
            return "CLAIMFLOW_OIDC_JWKS_URL needs CLAIMFLOW_OIDC_ISSUER and CLAIMFLOW_OIDC_AUDIENCE"
        if environment != "development" and not self.enabled:
            return (
                f"outside development (environment {environment}) only OIDC access tokens are accepted: "
                "set CLAIMFLOW_OIDC_JWKS_URL, CLAIMFLOW_OIDC_ISSUER and CLAIMFLOW_OIDC_AUDIENCE"
            )
        return None


class OidcTokenVerifier:
    """Access tokens signed by the provider's keys, found by `kid` in its JWKS (cached, re-fetched on rotation)."""

    def __init__(self, settings: OidcSettings) -> None:
        if not (settings.jwks_url and settings.issuer and settings.audience):
            raise ValueError("OIDC needs CLAIMFLOW_OIDC_JWKS_URL, CLAIMFLOW_OIDC_ISSUER and CLAIMFLOW_OIDC_AUDIENCE")
        self.issuer = settings.issuer
        self.audience = settings.audience
        self.algorithms: list[str] = list(settings.algorithms)
        self.tenant_claim = settings.tenant_claim
        self.leeway_s = settings.leeway_s
        self._keys = jwt.PyJWKClient(
            settings.jwks_url,
            cache_jwk_set=True,
            lifespan=settings.jwks_cache_s,
            timeout=settings.fetch_timeout_s,
            cooldown_duration=settings.refresh_cooldown_s,
        )

    def verify(self, token: str) -> Principal:
        """Blocking on a key-set fetch (first use, expiry, unknown `kid`): call it from a worker thread."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in self.algorithms:
                raise InvalidCredential(f"algorithm {header.get('alg')!r} is not accepted")
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidCredential("token has no key id (kid)")
            key = self._keys.get_signing_key(kid)
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway_s,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise InvalidCredential("the identity provider's keys could not be fetched") from None
        except jwt.PyJWTError as exc:
            raise InvalidCredential(str(exc)) from None
        return _principal(claims, self.tenant_claim)


@dataclass(frozen=True, slots=True)
class EitherVerifier:
    """Development with OIDC configured: HS256 development tokens and the provider's tokens alike."""

    development: TokenVerifier
    oidc: OidcTokenVerifier

    def verify(self, token: str) -> Principal:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise InvalidCredential(str(exc)) from None
        return (self.development if algorithm == ALGORITHM else self.oidc).verify(token)


class NoCredentialAccepted:
    """Outside development without OIDC settings: nothing verifies (the service refuses to start first)."""

    def verify(self, token: str) -> Principal:
        raise InvalidCredential("no identity provider is configured")


def credential_verifier(environment: str, development: TokenVerifier, oidc: OidcSettings) -> CredentialVerifier:
    """What a service or the console accepts: HS256 development tokens only in development, else OIDC."""
    if oidc.problem(environment) is not None:
        return development if environment == "development" and not oidc.enabled else NoCredentialAccepted()
    if environment == "development":
        return EitherVerifier(development, OidcTokenVerifier(oidc)) if oidc.enabled else development
    return OidcTokenVerifier(oidc)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer credential")
    verifier: CredentialVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except InvalidCredential as exc:
        raise _unauthorized(f"invalid credential: {exc}") from None


def require_scope(scope: str) -> object:
    """A dependency giving the caller's Principal when it holds `scope`, else 403."""

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if scope not in principal.scopes:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"missing scope {scope}")
        return principal

    return Depends(dependency)
