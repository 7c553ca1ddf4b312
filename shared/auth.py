"""Bearer credentials: a signed JWT naming the tenant and the scopes granted.

No credential or a bad one answers 401, a missing scope 403. The tenant comes from the credential
only, and every repository query is scoped by it, so another tenant's record answers 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="JWT with `tenant` and space-separated `scope` claims.")
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    scopes: frozenset[str]


class InvalidCredential(Exception):
    pass


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
        tenant = claims.get("tenant")
        if not isinstance(tenant, str) or not tenant:
            raise InvalidCredential("token has no tenant claim")
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise InvalidCredential("scope claim must be a space-separated string")
        return Principal(subject=str(claims["sub"]), tenant=tenant, scopes=frozenset(scope.split()))

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


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer credential")
    verifier: TokenVerifier = request.app.state.token_verifier
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
