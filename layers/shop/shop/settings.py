"""Typed configuration of every function, read from the environment once, at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigurationError(RuntimeError):
    """The function's environment is missing or has a malformed variable."""


class Settings(BaseModel):
    """Every variable the functions read. Template Globals set them for all functions."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    table_name: Annotated[str, Field(alias="TABLE_NAME", min_length=3)]
    payments_queue_url: Annotated[str, Field(alias="PAYMENTS_QUEUE_URL", min_length=1)]
    notifications_queue_url: Annotated[str, Field(alias="NOTIFICATIONS_QUEUE_URL", min_length=1)]
    signing_key_secret_id: Annotated[str, Field(alias="SIGNING_KEY_SECRET_ID", min_length=1)]
    jwt_issuer: Annotated[str, Field(alias="JWT_ISSUER", min_length=1)]
    jwt_audience: Annotated[str, Field(alias="JWT_AUDIENCE", min_length=1)]
    # RFC 8725 advice: short-lived bearer tokens; the issue caps them at one hour.
    token_ttl_seconds: Annotated[int, Field(alias="TOKEN_TTL_SECONDS", ge=60, le=3600)] = 900
    # Seconds a warm function keeps the signing key before reading it again (rotation).
    signing_key_cache_seconds: Annotated[int, Field(alias="SIGNING_KEY_CACHE_SECONDS", ge=0, le=86400)] = 900
    # Feature flag: orders are still accepted but no payment job is sent; the reconciler sends
    # them once the flag is cleared.
    pause_payment_dispatch: Annotated[bool, Field(alias="PAUSE_PAYMENT_DISPATCH")] = False
    idempotency_ttl_seconds: Annotated[int, Field(alias="IDEMPOTENCY_TTL_SECONDS", ge=60)] = 86400


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate the environment; a bad variable stops the function at init, named."""
    source = os.environ if environ is None else environ
    try:
        return Settings.model_validate(dict(source))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"invalid function configuration: {problems}") from None
