"""The payment provider: Stripe's PaymentIntents and Refunds APIs via the stripe SDK, its key from Secrets Manager."""

from __future__ import annotations

from typing import Literal, NoReturn, Protocol

import stripe

from shop.adapters.secret_values import CachedSecret
from shop.errors import Misconfigured, Unavailable
from shop.service_layer.ports import (
    Charged,
    ChargeOutcome,
    ChargeRequest,
    Declined,
    Refunded,
    RefundOutcome,
    RefundRefused,
    RefundRequest,
)

StripeErrorClass = Literal["decline", "transient", "configuration"]

# A 409 from Stripe means another request with the same idempotency key is still running.
_CONCURRENT_REQUEST = 409
# Stripe's refusals of a refund: more than the unrefunded remainder, a charge refunded in full, a
# payment without a successful charge (an invalid `payment_intent`). A retry would be refused again.
_REFUND_REFUSAL_CODES = frozenset({"amount_too_large", "charge_already_refunded", "charge_not_refundable"})
_REFUND_REFUSAL_PARAMS = frozenset({"amount", "payment_intent"})
# A refund Stripe has not given up on; `pending` and `requires_action` settle later at the provider.
_REFUND_ACCEPTED = frozenset({"succeeded", "pending", "requires_action"})
_METADATA_VALUE_LIMIT = 500


def classify_stripe_error(error: stripe.StripeError) -> StripeErrorClass:
    """The one place a Stripe error is classified: a decline, a transient fault, or a configuration fault."""
    if isinstance(error, stripe.CardError):
        return "decline"
    if isinstance(error, stripe.InvalidRequestError) and error.param == "payment_method":
        # The customer's payment method does not exist at the provider: their input, not our setup.
        return "decline"
    if isinstance(error, stripe.RateLimitError | stripe.APIConnectionError):
        # APIConnectionError covers connect and read timeouts too; a retry is safe because it
        # carries the same idempotency key.
        return "transient"
    if isinstance(error, stripe.APIError) and (
        error.http_status is None or error.http_status >= 500 or error.http_status == _CONCURRENT_REQUEST
    ):
        return "transient"
    # Authentication, permission, invalid-request and idempotency errors, and anything unknown:
    # a retry would send the same request and fail the same way.
    return "configuration"


class ApiKeySource(Protocol):
    """Hands out the payment provider's secret key."""

    def key(self) -> str: ...

    def forget(self) -> None:
        """Drop the cached key, so a rotated one is read on the next call."""


class SecretsManagerApiKey:
    """The key as stored in a Secrets Manager secret (a plain string), kept warm by `CachedSecret`."""

    def __init__(self, secret: CachedSecret) -> None:
        self._secret = secret

    def key(self) -> str:
        return self._secret.value()

    def forget(self) -> None:
        self._secret.forget()


class StripePaymentGateway:
    """Creates and confirms one PaymentIntent per order, and one Refund per refund, each with its idempotency key."""

    def __init__(self, api_key: ApiKeySource, *, base_url: str, connect_timeout: float, read_timeout: float) -> None:
        self._api_key = api_key
        self._base_url = base_url
        # One HTTP client for the warm function: its connection pool outlives the key.
        self._http = stripe.RequestsClient(timeout=(connect_timeout, read_timeout))
        self._client: tuple[str, stripe.StripeClient] | None = None

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        client = self._client_for(self._api_key.key())
        try:
            intent = client.v1.payment_intents.create(
                params={
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "payment_method": request.payment_method,
                    "confirm": True,
                    # Off-session: nobody is there to follow a redirect, so methods that need one are off.
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "metadata": {"order_id": request.order_id, "user_id": request.user_id},
                },
                options={"idempotency_key": request.idempotency_key},
            )
            if intent.status == "processing":
                # A replayed create returns the first answer; only a read tells how it ended.
                intent = client.v1.payment_intents.retrieve(intent.id)
        except stripe.StripeError as error:
            return self._declined_or_raise(error)
        return _outcome_of(intent)

    def refund(self, request: RefundRequest) -> RefundOutcome:
        client = self._client_for(self._api_key.key())
        try:
            refund = client.v1.refunds.create(
                params={
                    "payment_intent": request.payment_id,
                    "amount": request.amount,
                    # Stripe's own `reason` is an enum; ours is free text, kept for whoever reads the refund there.
                    "metadata": {
                        "order_id": request.order_id,
                        "refund_id": request.refund_id,
                        "reason": request.reason[:_METADATA_VALUE_LIMIT],
                    },
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            if _refund_refused(error):
                return RefundRefused(code=error.code or "refund_refused", message=str(error.user_message or error))
            self._raise(error)
        if refund.status not in _REFUND_ACCEPTED:
            return RefundRefused(
                code=refund.failure_reason or f"refund_{refund.status}", message="the provider did not refund"
            )
        return Refunded(provider_refund_id=refund.id)

    def _client_for(self, key: str) -> stripe.StripeClient:
        if self._client is None or self._client[0] != key:
            client = stripe.StripeClient(
                key,
                base_addresses={"api": self._base_url},
                http_client=self._http,
                # The worker's backoff schedule is the one retry policy; the SDK must not add its own.
                max_network_retries=0,
            )
            self._client = (key, client)
        return self._client[1]

    def _declined_or_raise(self, error: stripe.StripeError) -> Declined:
        if classify_stripe_error(error) == "decline":
            return _declined(error)
        self._raise(error)

    def _raise(self, error: stripe.StripeError) -> NoReturn:
        if classify_stripe_error(error) == "transient":
            raise Unavailable(f"the payment provider failed transiently: {type(error).__name__}") from error
        if isinstance(error, stripe.AuthenticationError):
            self._api_key.forget()
        raise Misconfigured(
            f"the payment provider refused the request: {type(error).__name__} (HTTP {error.http_status}): {error}"
        ) from error


def _refund_refused(error: stripe.StripeError) -> bool:
    return isinstance(error, stripe.InvalidRequestError) and (
        error.code in _REFUND_REFUSAL_CODES or error.param in _REFUND_REFUSAL_PARAMS
    )


def _declined(error: stripe.StripeError) -> Declined:
    detail = error.error
    decline_code = detail.decline_code if detail is not None else None
    intent = detail.payment_intent if detail is not None else None
    return Declined(
        code=decline_code or error.code or "card_declined",
        message=str(error.user_message or "the payment was declined"),
        payment_id=intent.id if intent is not None else None,
    )


def _outcome_of(intent: stripe.PaymentIntent) -> ChargeOutcome:
    if intent.status == "succeeded":
        return Charged(payment_id=intent.id)
    if intent.status == "processing":
        raise Unavailable("the payment is still processing at the provider")
    if intent.status == "requires_action":
        return Declined(code="authentication_required", message="the payment needs the customer", payment_id=intent.id)
    return Declined(
        code=f"payment_intent_{intent.status}", message="the payment did not complete", payment_id=intent.id
    )
