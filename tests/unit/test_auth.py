from __future__ import annotations

import datetime as dt

import jwt
import pytest

from shared.auth import InvalidCredential, TokenVerifier

VERIFIER = TokenVerifier(secret="s" * 40, issuer="claimflow", audience="claimflow")


def test_minted_token_verifies_with_tenant_and_scopes() -> None:
    token = VERIFIER.mint(
        subject="ehr-1", tenant="tenant-a", scopes=["claims:read", "encounters:write"], ttl=dt.timedelta(minutes=5)
    )
    principal = VERIFIER.verify(token)
    assert principal.tenant == "tenant-a"
    assert principal.scopes == frozenset({"claims:read", "encounters:write"})


def test_expired_token_is_refused() -> None:
    token = VERIFIER.mint(subject="ehr-1", tenant="t", scopes=[], ttl=dt.timedelta(seconds=-1))
    with pytest.raises(InvalidCredential, match="expired"):
        VERIFIER.verify(token)


def test_token_signed_with_another_secret_is_refused() -> None:
    other = TokenVerifier(secret="o" * 40, issuer="claimflow", audience="claimflow")
    with pytest.raises(InvalidCredential, match="Signature"):
        VERIFIER.verify(other.mint(subject="x", tenant="t", scopes=[], ttl=dt.timedelta(minutes=1)))


def test_token_without_tenant_is_refused() -> None:
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode(
        {"sub": "x", "iss": "claimflow", "aud": "claimflow", "exp": now + dt.timedelta(minutes=1)},
        "s" * 40,
        algorithm="HS256",
    )
    with pytest.raises(InvalidCredential, match="no tenant"):
        VERIFIER.verify(token)


def test_unsigned_token_is_refused() -> None:
    token = jwt.encode(
        {"sub": "x", "tenant": "t", "iss": "claimflow", "aud": "claimflow", "exp": 9999999999},
        key=None,
        algorithm="none",
    )
    with pytest.raises(InvalidCredential):
        VERIFIER.verify(token)
