"""The one rule for what must never be shown: secret-named fields, bearer tokens and JWTs.

It depends on nothing, so that both the functions' logs (the `shop` layer, where it ships) and
localcloud's console (a dev tool that knows nothing of `shop`) apply this same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_NAMES = re.compile(r"pass(word)?|secret|token|authorization|cookie|api[_-]?key|signature|card", re.IGNORECASE)
# Names that match the pattern but hold no secret.
_PUBLIC_NAMES = frozenset({"correlation_id"})
# A JWT anywhere in a string: three base64url parts, the first starting with `{"` encoded.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret-named fields, bearer tokens and JWTs replaced by REDACTED."""
    if isinstance(value, dict):
        return {key: REDACTED if is_secret_name(key) else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _JWT.sub(REDACTED, _BEARER.sub(r"\1" + REDACTED, value))
    return value


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Name-value pairs (headers, form fields) with the values of secret names, and tokens in the others, redacted."""
    return [(name, REDACTED if is_secret_name(name) else redact(value)) for name, value in pairs]


def is_secret_name(name: object) -> bool:
    """Whether a field or header of this name holds a secret."""
    return isinstance(name, str) and _SECRET_NAMES.search(name) is not None and name not in _PUBLIC_NAMES
