"""Idempotency-Key checks shared by every route that takes one: the key's shape and the request's fingerprint."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, TypeAdapter, ValidationError

from shop.domain.models import IdempotencyKey
from shop.errors import FieldProblem, Invalid

_IDEMPOTENCY_KEY: TypeAdapter[str] = TypeAdapter(IdempotencyKey)


def valid_idempotency_key(key: str) -> str:
    """The key as given; `Invalid` naming the header unless it is 1 to 255 visible ASCII characters."""
    try:
        return _IDEMPOTENCY_KEY.validate_python(key)
    except ValidationError as exc:
        problems = [FieldProblem(location="header.Idempotency-Key", message=error["msg"]) for error in exc.errors()]
        raise Invalid("the Idempotency-Key header must be 1 to 255 visible ASCII characters", problems) from exc


def fingerprint(request: BaseModel) -> str:
    """What a replay's body must match: the validated request, so formatting differences do not count."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()
