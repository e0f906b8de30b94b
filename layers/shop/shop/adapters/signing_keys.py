"""The JWT and cursor signing key."""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from shop.adapters.secret_values import CachedSecret
from shop.errors import Misconfigured

# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_KEY_BYTES = 32


class SigningKeySource(Protocol):
    """Hands out the current secret key material."""

    def key(self) -> bytes: ...


def derive_key(master: bytes, purpose: str) -> bytes:
    """A separate key per purpose, so a cursor signature can never pass as a token signature."""
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()


class SecretsManagerSigningKey:
    """The signing key as stored in a Secrets Manager secret, kept warm by `CachedSecret`."""

    def __init__(self, secret: CachedSecret) -> None:
        self._secret = secret

    def key(self) -> bytes:
        value = self._secret.value().encode()
        if len(value) < MIN_KEY_BYTES:
            raise Misconfigured("the signing key is shorter than 32 bytes")
        return value


class StaticSigningKey:
    """A fixed key, for tests and tools."""

    def __init__(self, value: bytes) -> None:
        self._value = value

    def key(self) -> bytes:
        return self._value
