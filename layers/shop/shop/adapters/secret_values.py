"""Secrets Manager values, read once per cache period so a warm function makes no call per request."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.domain.clock import Clock
from shop.errors import Misconfigured, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Secrets Manager answers these when the secret, its value or our access to it is missing:
# waiting does not help, an operator does.
_CONFIGURATION_CODES = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure", "InvalidRequestException"}
)


class CachedSecret:
    """One secret's string value, kept for `cache_seconds` so a rotation is picked up within that time."""

    def __init__(
        self, client: SecretsManagerClient, secret_id: str, *, cache_seconds: int, clock: Clock, purpose: str
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = timedelta(seconds=cache_seconds)
        self._clock = clock
        self._purpose = purpose
        self._lock = threading.Lock()
        self._cached: tuple[str, datetime] | None = None

    def value(self) -> str:
        now = self._clock.now()
        with self._lock:
            if self._cached is not None and now - self._cached[1] < self._ttl:
                return self._cached[0]
            value = self._fetch()
            self._cached = (value, now)
            return value

    def forget(self) -> None:
        """Drop the cached value, so the next call reads the secret again."""
        with self._lock:
            self._cached = None

    def _fetch(self) -> str:
        try:
            value = self._client.get_secret_value(SecretId=self._secret_id).get("SecretString", "")
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _CONFIGURATION_CODES:
                raise Misconfigured(f"the {self._purpose} secret cannot be read: {code}") from exc
            raise Unavailable(f"the {self._purpose} cannot be read") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"the {self._purpose} cannot be read") from exc
        if not value.strip():
            raise Misconfigured(f"the {self._purpose} secret is empty")
        return value.strip()
