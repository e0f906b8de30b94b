"""Access tokens: HS256 JWTs with every registered claim required on the way back in."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt

from shop.clock import Clock
from shop.errors import Unauthenticated
from shop.models import AccessToken, Principal
from shop.signing_keys import SigningKeySource, derive_key

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "iat", "nbf", "exp", "iss", "aud", "jti")
# Anything longer is not one of ours; refusing it early bounds the work an attacker can cause.
MAX_TOKEN_LENGTH = 4096
# Tolerated clock difference between the issuing and the verifying function.
LEEWAY_SECONDS = 5


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
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        roles = claims.get("roles", [])
        if not isinstance(claims["sub"], str) or not isinstance(roles, list):
            raise Unauthenticated("the token's claims are malformed")
        return Principal(user_id=claims["sub"], roles=tuple(str(role) for role in roles))

    def _signing_key(self) -> bytes:
        return derive_key(self._keys.key(), "jwt-hs256")
