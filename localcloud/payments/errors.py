"""Errors shaped like the Stripe API's, so the stripe SDK raises the same exception classes."""

from __future__ import annotations


class ApiError(Exception):
    """A request the API refuses, with the HTTP status and the `error` object Stripe would send."""

    def __init__(self, status: int, error: dict[str, object]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error

    def body(self) -> dict[str, object]:
        return {"error": self.error}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> ApiError:
    """An `invalid_request_error`: the SDK raises InvalidRequestError for 400/404, AuthenticationError for 401."""
    error: dict[str, object] = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    return ApiError(status, error)


def resource_missing(kind: str, object_id: str, *, param: str, status: int = 400) -> ApiError:
    """Stripe's answer for an id that names nothing: 400 as a parameter, 404 as the URL."""
    return invalid_request(f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=status)


def unrecognized_url(method: str, path: str) -> ApiError:
    """Stripe's 404 for a method and path it has no endpoint for."""
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
        status=404,
    )


def idempotency_mismatch(key: str) -> ApiError:
    """An idempotency key reused with other parameters; the SDK raises IdempotencyError."""
    return ApiError(
        400,
        {
            "type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters they were first "
            f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
        },
    )


def api_error(message: str) -> ApiError:
    """A 500 `api_error`, which the SDK raises as APIError (after its retries)."""
    return ApiError(500, {"type": "api_error", "message": message})


def rate_limited() -> ApiError:
    """A 429, which the SDK raises as RateLimitError."""
    # Stripe answers 429 with an invalid_request_error coded rate_limit; the SDK maps any 429 to RateLimitError.
    return ApiError(
        429,
        {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
        },
    )
