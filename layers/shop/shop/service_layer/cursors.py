"""Opaque, signed pagination cursors bound to the caller and the query they came from."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from shop.adapters.signing_keys import SigningKeySource, derive_key
from shop.errors import MalformedRequest

DynamoKey = dict[str, dict[str, str]]


class CursorCodec:
    """Turns DynamoDB's LastEvaluatedKey into a token a client cannot read, alter or replay elsewhere."""

    def __init__(self, keys: SigningKeySource) -> None:
        self._keys = keys

    def encode(self, last_key: DynamoKey, *, owner: str, scope: str) -> str:
        payload = _b64encode(json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._sign(payload, owner, scope)}"

    def decode(self, cursor: str, *, owner: str, scope: str) -> DynamoKey:
        payload, _, signature = cursor.partition(".")
        # Compared as bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
        expected = self._sign(payload, owner, scope).encode()
        if not payload or not hmac.compare_digest(signature.encode(), expected):
            raise MalformedRequest("the cursor is not valid for this query")
        try:
            decoded = json.loads(_b64decode(payload))
        except (ValueError, binascii.Error) as exc:
            raise MalformedRequest("the cursor is not valid for this query") from exc
        if not isinstance(decoded, dict):
            raise MalformedRequest("the cursor is not valid for this query")
        return decoded

    def _sign(self, payload: str, owner: str, scope: str) -> str:
        key = derive_key(self._keys.key(), "cursor-v1")
        message = f"{owner}\n{scope}\n{payload}".encode()
        return _b64encode(hmac.new(key, message, hashlib.sha256).digest())


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
