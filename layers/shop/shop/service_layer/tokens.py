"""Access tokens: HS256 JWTs with every registered claim required on the way back in."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import jwt

from shop.adapters.signing_keys import SigningKeySource, derive_key
from shop.domain.clock import Clock
from shop.domain.models import AccessToken, Principal
from shop.errors import Unauthenticated

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "iat", "nbf", "exp", "iss", "aud", "jti")
# Anything longer is not one of ours; refusing it early bounds the work an attacker can cause.
MAX_TOKEN_LENGTH = 4096
# Tolerated clock difference between the issuing and the verifying function.
LEEWAY_SECONDS = 5
# A token claiming a longer life than any we issue was not issued by us.
MAX_LIFETIME_SECONDS = 3600


class TokenService:
    """Issues and verifies access tokens."""

    def __init__(self, keys: SigningKeySource, *, issuer: str, audience: str, ttl_seconds: int, clock: Clock) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, user_id: str, roles: tuple[str, ...]) -> AccessToken:
        now = self._clock.now()
        claims = {
            "sub": user_id,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=self._ttl),
            "iss": self._issuer,
            "aud": self._audience,
            "jti": secrets.token_urlsafe(16),
            "roles": list(roles),
        }
        token = jwt.encode(claims, self._signing_key(), algorithm=ALGORITHM)
        return AccessToken(access_token=token, expires_in=self._ttl)

    def verify(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("the token is missing or too long")
        try:
            claims = jwt.decode(
                token,
                self._signing_key(),
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # Time claims are checked below against our clock, which tests can stop.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        self._check_times(claims)
        roles = claims.get("roles", [])
        if not isinstance(claims["sub"], str) or not isinstance(roles, list):
            raise Unauthenticated("the token's claims are malformed")
        return Principal(user_id=claims["sub"], roles=tuple(str(role) for role in roles), expires_at=int(claims["exp"]))

    def _check_times(self, claims: dict[str, Any]) -> None:
        times = [claims["iat"], claims["nbf"], claims["exp"]]
        if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in times):
            raise Unauthenticated("the token's time claims are malformed")
        now = self._clock.now().timestamp()
        if claims["exp"] <= now - LEEWAY_SECONDS:
            raise Unauthenticated("the token has expired")
        if claims["nbf"] > now + LEEWAY_SECONDS or claims["iat"] > now + LEEWAY_SECONDS:
            raise Unauthenticated("the token is not valid yet")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
            raise Unauthenticated("the token lives longer than allowed")

    def _signing_key(self) -> bytes:
        return derive_key(self._keys.key(), "jwt-hs256")
