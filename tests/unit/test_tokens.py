"""Every way a token can be wrong ends in Unauthenticated (and so a 401 at the gateway)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest

from shop.adapters.signing_keys import StaticSigningKey, derive_key
from shop.errors import Unauthenticated
from shop.service_layer.token_authorizer import api_wide_resource, policy_for
from shop.service_layer.tokens import TokenService
from tests.unit.fakes import FixedClock

MASTER = b"m" * 48
KEY = derive_key(MASTER, "jwt-hs256")
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/orders/42"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def tokens(clock: FixedClock) -> TokenService:
    return TokenService(StaticSigningKey(MASTER), issuer="shop-api", audience="clients", ttl_seconds=900, clock=clock)


@pytest.fixture
def forge(clock: FixedClock) -> Callable[..., str]:
    def make(*, key: bytes = KEY, algorithm: str = "HS256", drop: str | None = None, **overrides: Any) -> str:
        now = clock.now()
        claims: dict[str, Any] = {
            "sub": "user-1",
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(minutes=5),
            "iss": "shop-api",
            "aud": "clients",
            "jti": "j1",
            **overrides,
        }
        if drop:
            claims.pop(drop)
        return jwt.encode(claims, key, algorithm=algorithm)

    return make


def test_an_issued_token_verifies_with_its_roles(tokens: TokenService) -> None:
    token = tokens.issue("user-1", ("customer", "admin"))

    principal = tokens.verify(token.access_token)

    assert principal.user_id == "user-1" and principal.roles == ("customer", "admin")


def test_issued_tokens_carry_every_registered_claim_and_expire_within_the_ttl(tokens: TokenService) -> None:
    claims = jwt.decode(tokens.issue("user-1", ()).access_token, options={"verify_signature": False})

    assert {"sub", "iat", "nbf", "exp", "iss", "aud", "jti"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 900


def _unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "other_key",
        "hs512",
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "garbage",
        "oversized",
        "empty",
        "master_key_instead_of_derived",
        "lives_too_long",
        "time_claim_not_a_number",
    ],
)
def test_bad_tokens_are_refused(case: str, tokens: TokenService, forge: Callable[..., str], clock: FixedClock) -> None:
    now = clock.now()
    makers: dict[str, Callable[[], str]] = {
        "alg_none": lambda: _unsigned({"sub": "user-1", "iss": "shop-api", "aud": "clients", "exp": 4102444800}),
        "other_key": lambda: forge(key=b"x" * 32),
        "hs512": lambda: forge(key=b"k" * 64, algorithm="HS512"),
        "expired": lambda: forge(exp=now - timedelta(minutes=1), iat=now - timedelta(minutes=20)),
        "not_yet_valid": lambda: forge(nbf=now + timedelta(minutes=1)),
        "wrong_issuer": lambda: forge(iss="someone-else"),
        "wrong_audience": lambda: forge(aud="other-clients"),
        "garbage": lambda: "not.a.token",
        "oversized": lambda: forge(padding="x" * 5000),
        "empty": lambda: "",
        "master_key_instead_of_derived": lambda: forge(key=MASTER),
        "lives_too_long": lambda: forge(exp=now + timedelta(hours=2)),
        "time_claim_not_a_number": lambda: forge(iat="yesterday"),
    }
    token = makers[case]()

    with pytest.raises(Unauthenticated):
        tokens.verify(token)


@pytest.mark.parametrize("claim", ["sub", "iat", "nbf", "exp", "iss", "aud", "jti"])
def test_a_token_missing_any_claim_is_refused(claim: str, tokens: TokenService, forge: Callable[..., str]) -> None:
    with pytest.raises(Unauthenticated):
        tokens.verify(forge(drop=claim))


def test_the_authorizer_allows_the_whole_stage_and_passes_the_caller(tokens: TokenService) -> None:
    token = tokens.issue("user-1", ("customer",)).access_token

    policy = policy_for(f"Bearer {token}", ARN, tokens)

    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/*/*"
    assert policy["principalId"] == "user-1"
    assert policy["context"] == {
        "user_id": "user-1",
        "roles": "customer",
        "expires_at": tokens.verify(token).expires_at,
    }
    assert isinstance(policy["context"]["expires_at"], int)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "token-without-scheme"])
def test_the_authorizer_refuses_a_missing_or_non_bearer_header(header: str | None, tokens: TokenService) -> None:
    with pytest.raises(Unauthenticated):
        policy_for(header, ARN, tokens)


def test_api_wide_resource_keeps_the_api_and_stage() -> None:
    assert api_wide_resource("arn:aws:execute-api:eu-west-1:1:api/prod/POST/orders") == (
        "arn:aws:execute-api:eu-west-1:1:api/prod/*/*"
    )
