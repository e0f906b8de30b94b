"""Stripe's errors, classified in one place: decline, transient, or configuration fault."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from shop.adapters.stripe_payments import StripeErrorClass, classify_stripe_error

_DECLINE_BODY = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }
}


def stripe_error(kind: type[stripe.StripeError], *args: Any, **kwargs: Any) -> stripe.StripeError:
    """A Stripe error as the SDK raises it (its constructors carry no type hints)."""
    make: Any = kind
    built: stripe.StripeError = make(*args, **kwargs)
    return built


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            stripe_error(stripe.CardError, "declined", None, "card_declined", http_status=402, json_body=_DECLINE_BODY),
            "decline",
        ),
        (
            stripe_error(
                stripe.InvalidRequestError,
                "No such PaymentMethod",
                "payment_method",
                "resource_missing",
                http_status=400,
            ),
            "decline",
        ),
        (stripe_error(stripe.RateLimitError, "slow down", http_status=429), "transient"),
        (stripe_error(stripe.APIConnectionError, "read timed out"), "transient"),
        (stripe_error(stripe.APIError, "boom", http_status=500), "transient"),
        (stripe_error(stripe.APIError, "bad gateway", http_status=502), "transient"),
        (stripe_error(stripe.APIError, "same key in flight", http_status=409), "transient"),
        (stripe_error(stripe.APIError, "unreadable answer"), "transient"),
        (stripe_error(stripe.AuthenticationError, "Invalid API Key provided", http_status=401), "configuration"),
        (stripe_error(stripe.PermissionError, "not allowed", http_status=403), "configuration"),
        (
            stripe_error(stripe.InvalidRequestError, "Invalid currency", "currency", None, http_status=400),
            "configuration",
        ),
        (stripe_error(stripe.IdempotencyError, "key reused with other parameters", http_status=400), "configuration"),
    ],
    ids=lambda value: value if isinstance(value, str) else f"{type(value).__name__}-{value.http_status}",
)
def test_each_stripe_error_has_one_class(error: stripe.StripeError, expected: StripeErrorClass) -> None:
    assert classify_stripe_error(error) == expected
