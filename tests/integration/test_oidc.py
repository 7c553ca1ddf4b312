"""OIDC access tokens: RS256/ES256 keys from the provider's JWKS over HTTP, issuer and audience checked,
keys cached and fetched again when a token names a new key; HS256 development tokens only in development."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from shared.auth import (
    EitherVerifier,
    InvalidCredential,
    NoCredentialAccepted,
    OidcSettings,
    OidcTokenVerifier,
    TokenVerifier,
    credential_verifier,
)
from tests.support.oidc import LocalIdentityProvider
from tests.support.pipeline import Pipeline, new_tenant

DEV = TokenVerifier(secret="d" * 40, issuer="claimflow", audience="claimflow")


@pytest.fixture
def provider() -> Iterator[LocalIdentityProvider]:
    started = LocalIdentityProvider().start()
    yield started
    started.stop()


def settings_for(provider: LocalIdentityProvider, **overrides: object) -> OidcSettings:
    values: dict[str, object] = {
        "jwks_url": provider.jwks_url,
        "issuer": provider.issuer,
        "audience": provider.audience,
        "refresh_cooldown_s": 0.0,
        **overrides,
    }
    return OidcSettings.model_validate(values)


def test_rs256_and_es256_tokens_verify_with_the_keys_fetched_once(provider: LocalIdentityProvider) -> None:
    verifier = OidcTokenVerifier(settings_for(provider))
    rsa_key = provider.keys[0]
    ec_key = provider.rotate("ES256")

    for key in (rsa_key, ec_key, rsa_key, ec_key):
        principal = verifier.verify(provider.mint(tenant="tenant-a", scopes=["claims:read"], key=key))
        assert principal.tenant == "tenant-a"
        assert principal.scopes == frozenset({"claims:read"})
    assert provider.fetches == 1, "the key set is cached"


def test_a_rotated_key_is_fetched_when_a_token_names_it(provider: LocalIdentityProvider) -> None:
    verifier = OidcTokenVerifier(settings_for(provider))
    verifier.verify(provider.mint(tenant="t", scopes=[]))
    assert provider.fetches == 1

    rotated = provider.rotate("RS256")
    assert verifier.verify(provider.mint(tenant="t", scopes=["x"], key=rotated)).scopes == {"x"}
    assert provider.fetches == 2, "an unknown kid fetched the set again"
    verifier.verify(provider.mint(tenant="t", scopes=[], key=rotated))
    assert provider.fetches == 2


def test_unknown_kids_do_not_hammer_the_provider_within_the_cooldown(provider: LocalIdentityProvider) -> None:
    verifier = OidcTokenVerifier(settings_for(provider, refresh_cooldown_s=60.0))
    verifier.verify(provider.mint(tenant="t", scopes=[]))
    stranger = LocalIdentityProvider(issuer=provider.issuer, audience=provider.audience)
    for _ in range(5):
        with pytest.raises(InvalidCredential, match="signing key"):
            verifier.verify(stranger.mint(tenant="t", scopes=[]))
    assert provider.fetches == 1


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example/"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"exp": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "expired"),
        ({"tenant": ""}, "tenant"),
    ],
)
def test_issuer_audience_expiry_and_tenant_are_checked(
    provider: LocalIdentityProvider, claims: dict[str, object], reason: str
) -> None:
    verifier = OidcTokenVerifier(settings_for(provider))
    with pytest.raises(InvalidCredential, match=f"(?i){reason}"):
        verifier.verify(provider.mint(**{"tenant": "t", "scopes": [], **claims}))  # type: ignore[arg-type]


def test_symmetric_and_unsigned_tokens_are_refused_by_the_oidc_verifier(provider: LocalIdentityProvider) -> None:
    verifier = OidcTokenVerifier(settings_for(provider))
    public_jwk = json.dumps(provider.keys[0].public_jwk())
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": "x",
        "tenant": "t",
        "iss": provider.issuer,
        "aud": provider.audience,
        "exp": now + dt.timedelta(minutes=5),
    }
    kid = {"kid": provider.keys[0].kid}
    confused = jwt.encode(claims, public_jwk.encode() * 2, algorithm="HS256", headers=kid)  # the public key as secret
    unsigned = jwt.encode(claims, key=None, algorithm="none", headers=kid)
    for token in (confused, unsigned):
        with pytest.raises(InvalidCredential, match="algorithm"):
            verifier.verify(token)


def test_development_tokens_are_taken_only_in_development(provider: LocalIdentityProvider) -> None:
    development_token = DEV.mint(subject="dev", tenant="t", scopes=[], ttl=dt.timedelta(minutes=5))
    oidc = settings_for(provider)
    both = credential_verifier("development", DEV, oidc)
    assert isinstance(both, EitherVerifier)
    assert both.verify(development_token).tenant == "t"
    assert both.verify(provider.mint(tenant="u", scopes=[])).tenant == "u"

    for environment in ("test", "production"):
        verifier = credential_verifier(environment, DEV, oidc)
        assert verifier.verify(provider.mint(tenant="u", scopes=[])).tenant == "u"
        with pytest.raises(InvalidCredential):
            verifier.verify(development_token)
        assert isinstance(credential_verifier(environment, DEV, OidcSettings(jwks_url=None)), NoCredentialAccepted)
        problem = OidcSettings(jwks_url=None).problem(environment)
        assert problem is not None and "only OIDC" in problem
    assert OidcSettings(jwks_url=None).problem("development") is None
    assert "ISSUER" in (OidcSettings(jwks_url=provider.jwks_url, issuer=None).problem("development") or "")


async def test_a_service_outside_development_takes_oidc_tokens_and_refuses_development_ones(
    services: Pipeline,
) -> None:
    intake = await services.start(
        "intake", CLAIMFLOW_RUN_RELAY="false", CLAIMFLOW_RUN_CONSUMERS="false", CLAIMFLOW_OIDC_REFRESH_COOLDOWN_S="0"
    )
    tenant = new_tenant()
    development_token = TokenVerifier(
        secret=services.secrets.auth_secret, issuer="claimflow", audience="claimflow"
    ).mint(subject="dev", tenant=tenant, scopes=["patients:read"], ttl=dt.timedelta(minutes=5))
    unknown = f"/v1/patients/{uuid.uuid4()}"  # authenticated: 404; not: 401
    async with httpx.AsyncClient(base_url=intake.base_url) as client:
        refused = await client.get(unknown, headers={"Authorization": f"Bearer {development_token}"})
        assert refused.status_code == 401

        taken = await client.get(unknown, headers=services.auth(tenant, "patients:read"))
        assert taken.status_code == 404, taken.text

        rotated = services.identity.rotate("ES256")
        token = services.identity.mint(tenant=tenant, scopes=["patients:read"], key=rotated)
        after_rotation = await client.get(unknown, headers={"Authorization": f"Bearer {token}"})
        assert after_rotation.status_code == 404, after_rotation.text
