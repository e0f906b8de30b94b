"""Typed configuration of every function, read from the environment once, at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shop.domain.models import Email


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
    # The login lock: after this many failed logins for one email from one source address within
    # the window, that address's logins for it are refused with a 429 until the window ends.
    login_failure_limit: Annotated[int, Field(alias="LOGIN_FAILURE_LIMIT", ge=1, le=100)] = 5
    login_failure_window_seconds: Annotated[int, Field(alias="LOGIN_FAILURE_WINDOW_SECONDS", ge=60, le=86400)] = 900
    # The login pace, per email from every address: past this many failures in its window, each
    # attempt waits for a delay doubling from 1 s up to the maximum (shop.service_layer.accounts).
    login_backoff_free_failures: Annotated[int, Field(alias="LOGIN_BACKOFF_FREE_FAILURES", ge=1, le=1000)] = 20
    login_backoff_window_seconds: Annotated[int, Field(alias="LOGIN_BACKOFF_WINDOW_SECONDS", ge=60, le=7 * 86400)] = (
        86400
    )
    login_backoff_max_seconds: Annotated[int, Field(alias="LOGIN_BACKOFF_MAX_SECONDS", ge=1, le=3600)] = 300


class PipelineSettings(Settings):
    """What the queue workers and the maintenance function read on top of the common settings."""

    payments_dlq_url: Annotated[str, Field(alias="PAYMENTS_DLQ_URL", min_length=1)]
    notifications_dlq_url: Annotated[str, Field(alias="NOTIFICATIONS_DLQ_URL", min_length=1)]
    payment_api_base_url: Annotated[str, Field(alias="PAYMENT_API_BASE_URL", pattern=r"^https?://[^\s/]+$")] = (
        "https://api.stripe.com"
    )
    payment_api_key_secret_id: Annotated[str, Field(alias="PAYMENT_API_KEY_SECRET_ID", min_length=1)]
    # Seconds a warm worker keeps the payment API key before reading it again (rotation).
    payment_api_key_cache_seconds: Annotated[int, Field(alias="PAYMENT_API_KEY_CACHE_SECONDS", ge=0, le=86400)] = 300
    # Read timeout of one payment API call. Kept far below the worker's 30 s timeout, so a hung
    # provider costs one record its attempt, not the whole batch its invocation.
    payment_api_timeout_seconds: Annotated[float, Field(alias="PAYMENT_API_TIMEOUT_SECONDS", gt=0, le=20)] = 5.0
    sender_email: Annotated[Email, Field(alias="SENDER_EMAIL")]
    order_events_topic_arn: Annotated[str, Field(alias="ORDER_EVENTS_TOPIC_ARN", pattern=r"^arn:[^:]+:sns:")]
    # An order still pending this long after its last dispatch is sent to the payments queue again.
    stuck_order_seconds: Annotated[int, Field(alias="STUCK_ORDER_SECONDS", ge=60)] = 900
    # An order pending this long after its creation, never claimed for charging, is cancelled and
    # its units go back to stock (template PendingOrderHoldSeconds).
    pending_order_hold_seconds: Annotated[int, Field(alias="PENDING_ORDER_HOLD_SECONDS", ge=60)] = 3600
    # The base and the cap of the retry schedule in `shop.domain.retries` (template RetryBaseSeconds and
    # RetryMaxSeconds); SQS hides a message for at most 12 hours.
    retry_base_seconds: Annotated[int, Field(alias="RETRY_BASE_SECONDS", ge=1, le=900)] = 15
    retry_max_seconds: Annotated[int, Field(alias="RETRY_MAX_SECONDS", ge=1, le=43200)] = 1800
    # The workers' function timeout and their queues' visibility timeout as the template sets them
    # (WorkerTimeout, WorkerQueueVisibilityTimeout): the template cannot compare two parameters.
    worker_timeout_seconds: Annotated[int, Field(alias="WORKER_TIMEOUT_SECONDS", ge=1, le=900)] = 30
    worker_queue_visibility_timeout_seconds: Annotated[
        int, Field(alias="WORKER_QUEUE_VISIBILITY_TIMEOUT_SECONDS", ge=0, le=43200)
    ] = 180
    # How long an email claim whose send has an unknown outcome blocks a resend (`shop.service_layer.notifications`).
    email_claim_lease_seconds: Annotated[int, Field(alias="EMAIL_CLAIM_LEASE_SECONDS", ge=1, le=86400)] = 300

    @model_validator(mode="after")
    def _timings_fit_together(self) -> Self:
        problems = []
        if self.retry_max_seconds < self.retry_base_seconds:
            problems.append("RETRY_MAX_SECONDS must not be below RETRY_BASE_SECONDS")
        if self.worker_timeout_seconds >= self.worker_queue_visibility_timeout_seconds:
            # Else a batch still running comes back and is handed to a second worker.
            problems.append("WORKER_TIMEOUT_SECONDS must be below WORKER_QUEUE_VISIBILITY_TIMEOUT_SECONDS")
        if self.pending_order_hold_seconds <= self.stuck_order_seconds:
            # Else an order would be abandoned before the sweep ever sent its payment job again.
            problems.append("PENDING_ORDER_HOLD_SECONDS must be above STUCK_ORDER_SECONDS")
        if self.email_claim_lease_seconds <= self.worker_timeout_seconds:
            # Else a delivery could take over the claim of a worker that is still sending.
            problems.append("EMAIL_CLAIM_LEASE_SECONDS must be above WORKER_TIMEOUT_SECONDS")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate the environment; a bad variable stops the function at init, named."""
    return _load(Settings, environ)


def load_pipeline_settings(environ: Mapping[str, str] | None = None) -> PipelineSettings:
    """Like `load_settings`, for the queue workers and the maintenance function."""
    return _load(PipelineSettings, environ)


def _load[S: Settings](model: type[S], environ: Mapping[str, str] | None) -> S:
    source = os.environ if environ is None else environ
    try:
        return model.model_validate(dict(source))
    except ValidationError as exc:
        # A check across variables has no location: its message names them itself.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid function configuration: {problems}") from None
