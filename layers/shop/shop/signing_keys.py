"""The JWT and cursor signing key, read from Secrets Manager and kept warm."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shop.clock import Clock
from shop.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_KEY_BYTES = 32


class SigningKeySource(Protocol):
    """Hands out the current secret key material."""

    def key(self) -> bytes: ...


def derive_key(master: bytes, purpose: str) -> bytes:
    """A separate key per purpose, so a cursor signature can never pass as a token signature."""
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()


class SecretsManagerSigningKey:
    """Reads the secret once per `cache_seconds`: a warm function makes no call per request."""

    def __init__(self, client: SecretsManagerClient, secret_id: str, *, cache_seconds: int, clock: Clock) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = timedelta(seconds=cache_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[bytes, datetime] | None = None

    def key(self) -> bytes:
        now = self._clock.now()
        with self._lock:
            if self._cached is not None and now - self._cached[1] < self._ttl:
                return self._cached[0]
            value = self._fetch()
            self._cached = (value, now)
            return value

    def _fetch(self) -> bytes:
        try:
            secret = self._client.get_secret_value(SecretId=self._secret_id)["SecretString"]
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the signing key cannot be read") from exc
        value = secret.encode()
        if len(value) < MIN_KEY_BYTES:
            raise Unavailable("the signing key is shorter than 32 bytes")
        return value


class StaticSigningKey:
    """A fixed key, for tests and tools."""

    def __init__(self, value: bytes) -> None:
        self._value = value

    def key(self) -> bytes:
        return self._value
