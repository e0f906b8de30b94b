"""The HTTP boundary: API Gateway proxy events in, responses and RFC 9457 problem details out.

This is the one module that maps domain errors to status codes.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shop.domain.models import Principal
from shop.domain.permissions import authorize
from shop.entrypoints.json_body import parse_json, require_json
from shop.entrypoints.routes import Route
from shop.errors import (
    Conflict,
    Contention,
    DomainError,
    FieldProblem,
    Forbidden,
    IdempotencyKeyMismatch,
    Invalid,
    MalformedRequest,
    NotFound,
    OutOfStock,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    Throttled,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from shop.observability import logger, metrics, tracer

MAX_BODY_BYTES = 64 * 1024
PROBLEM_JSON = "application/problem+json"

_STATUS: dict[type[DomainError], int] = {
    MalformedRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
    IdempotencyKeyMismatch: 422,
    PreconditionRequired: 428,
    Throttled: 429,
    Unavailable: 503,
}

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    # Every answer is about one caller or about live state: nothing may be cached on the way.
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: BaseModel | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


@dataclass(frozen=True)
class ApiRequest:
    """A parsed API Gateway REST proxy event."""

    event: Mapping[str, Any]

    @property
    def request_id(self) -> str:
        return str(self.event.get("requestContext", {}).get("requestId") or "unknown")

    @property
    def correlation_id(self) -> str:
        return self.request_id

    @property
    def path(self) -> str:
        return str(self.event.get("path") or "/")

    @property
    def stage_path(self) -> str:
        """The path as the client called it, stage prefix included, for links in documents."""
        return str(self.event.get("requestContext", {}).get("path") or self.path)

    @property
    def source_ip(self) -> str:
        """The client's address as API Gateway saw the connection (not X-Forwarded-For, which anyone can send)."""
        identity = self.event.get("requestContext", {}).get("identity") or {}
        return str(identity.get("sourceIp") or "unknown")

    def header(self, name: str) -> str | None:
        headers = self.event.get("headers") or {}
        wanted = name.lower()
        return next((str(value) for key, value in headers.items() if key.lower() == wanted), None)

    def path_parameter(self, name: str) -> str:
        value = (self.event.get("pathParameters") or {}).get(name)
        if not value:
            raise NotFound(f"no {name} in the path")
        return str(value)

    @property
    def principal(self) -> Principal:
        """The caller as the authorizer described it; routes behind the authorizer always have one."""
        context = self.event.get("requestContext", {}).get("authorizer") or {}
        user_id = context.get("user_id")
        if not user_id:
            raise Unauthenticated("no authenticated caller")
        roles = tuple(role for role in str(context.get("roles", "")).split(",") if role)
        expires_at = _epoch_seconds(context.get("expires_at"))
        # API Gateway serves the authorizer's answer from its cache for up to 300 s, also past the
        # token's expiry: checking `exp` here keeps a revoked role from outliving the token.
        if expires_at is not None and expires_at <= time.time():
            raise Unauthenticated("the token has expired")
        return Principal(user_id=str(user_id), roles=roles, expires_at=expires_at)

    def body_as[M: BaseModel](self, model: type[M]) -> M:
        """The body as `model`: 415 unless JSON, 413 over the size limit, 400 unreadable, 422 invalid."""
        require_json(self.header("Content-Type"))
        raw = self._raw_body()
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")
        return _validate(model, parse_json(raw, "body") if raw else None, "body")

    def query_as[M: BaseModel](self, model: type[M]) -> M:
        return _validate(model, dict(self.event.get("queryStringParameters") or {}), "query")

    def _raw_body(self) -> bytes:
        body = self.event.get("body") or ""
        if not self.event.get("isBase64Encoded"):
            return str(body).encode()
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedRequest("the request body is not valid base64") from exc


def _epoch_seconds(value: object) -> int | None:
    """The authorizer context carries numbers as strings (REST API) or as numbers (the local gateway)."""
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise Unauthenticated("the caller's token expiry is malformed") from exc


def _validate[M: BaseModel](model: type[M], data: object, location: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            FieldProblem(location=".".join([location, *(str(part) for part in error["loc"])]), message=error["msg"])
            for error in exc.errors(include_url=False)
        ]
        raise Invalid(f"the request {location} is not valid", fields) from exc


def endpoint(
    route: Route,
) -> Callable[[Callable[[ApiRequest], ApiResponse]], Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Turn `fn(ApiRequest) -> ApiResponse` into a Lambda handler with logging, metrics and error mapping."""

    if not route.public and route.action is None:
        raise ValueError(f"route {route.operation_id} is behind the authorizer but names no action to authorize")
    action = route.action

    def decorate(fn: Callable[[ApiRequest], ApiResponse]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
        @metrics.log_metrics(capture_cold_start_metric=True)
        @tracer.capture_lambda_handler(capture_response=False)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            request = ApiRequest(event)
            logger.append_keys(operation=route.operation_id)
            try:
                if action is not None:
                    authorize(request.principal, action)
                response = fn(request)
            except DomainError as error:
                return problem_response(error, request)
            except Exception:
                # The outermost edge: whatever escaped is logged with the request id and becomes
                # a 500 without internals.
                logger.exception("unhandled error")
                return problem_body(500, "Internal server error", "the server failed; retry later", request)
            return render(response)

        wrapped: Callable[[dict[str, Any], Any], dict[str, Any]] = handler
        return wrapped

    return decorate


def render(response: ApiResponse) -> dict[str, Any]:
    body = response.body
    if isinstance(body, BaseModel):
        text = body.model_dump_json()
    elif body is None:
        text = ""
    else:
        text = body
    headers = {**SECURITY_HEADERS, "Content-Type": response.media_type, **response.headers}
    return {"statusCode": response.status, "headers": headers, "body": text, "isBase64Encoded": False}


def problem_response(error: DomainError, request: ApiRequest) -> dict[str, Any]:
    status = next((_STATUS[cls] for cls in type(error).__mro__ if cls in _STATUS), 500)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, Invalid) and error.fields:
        extra["errors"] = [{"location": f.location, "message": f.message} for f in error.fields]
    if isinstance(error, OutOfStock):
        extra["shortages"] = [
            {"sku": s.sku, "requested": s.requested, "available": s.available, "short_by": s.short_by}
            for s in error.shortages
        ]
    if isinstance(error, Throttled | Contention):
        headers["Retry-After"] = str(error.retry_after)
    if status >= 500:
        logger.warning("dependency unavailable", extra={"error": error.detail})
    else:
        logger.info("request refused", extra={"status": status, "error": type(error).__name__})
    return problem_body(status, error.title, error.detail, request, extra=extra, headers=headers)


def problem_body(
    status: int,
    title: str,
    detail: str,
    request: ApiRequest,
    *,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-")
    document = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request.request_id,
        **(extra or {}),
    }
    return {
        "statusCode": status,
        "headers": {**SECURITY_HEADERS, "Content-Type": PROBLEM_JSON, **(headers or {})},
        "body": json.dumps(document),
        "isBase64Encoded": False,
    }
