"""PaymentIntent creation: parameter validation, Stripe's test payment methods and the object's shape."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from localcloud.payments.errors import ApiError, invalid_request, resource_missing
from localcloud.payments.formdata import FormParams, FormValue

_ALPHANUMERIC = string.ascii_letters + string.digits
_INTEGER = re.compile(r"-?[0-9]+")
_MAX_AMOUNT = 99_999_999
_MAX_METADATA_KEYS = 50
_MAX_METADATA_KEY_LENGTH = 40
_MAX_METADATA_VALUE_LENGTH = 500

# Currencies Stripe settles in (lowercase ISO 4217, as the API takes them).
_CURRENCY_CODES = (
    "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp "
    "cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr "
    "isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn "
    "myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle "
    "sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw"
)
CURRENCIES = frozenset(_CURRENCY_CODES.split())

_SUPPORTED_PARAMS = frozenset(
    {
        "amount",
        "automatic_payment_methods",
        "capture_method",
        "confirm",
        "confirmation_method",
        "currency",
        "customer",
        "description",
        "metadata",
        "payment_method",
        "payment_method_types",
        "receipt_email",
        "return_url",
        "setup_future_usage",
        "statement_descriptor",
        "statement_descriptor_suffix",
    }
)

_RETURN_URL_REQUIRED = (
    "A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment "
    "methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you do not want "
    "to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."
)

_MISSING_PAYMENT_METHOD = (
    "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the "
    "PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment "
    "method or ConfirmationToken."
)


@dataclass(frozen=True)
class Decline:
    """How the card network refuses a charge."""

    code: str
    decline_code: str
    message: str


_GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
_INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")

# Stripe's test PaymentMethods: None succeeds, a Decline is refused with that error.
TEST_PAYMENT_METHODS: Mapping[str, Decline | None] = {
    "pm_card_visa": None,
    "pm_card_visa_debit": None,
    "pm_card_mastercard": None,
    "pm_card_amex": None,
    "pm_card_chargeDeclined": _GENERIC_DECLINE,
    "pm_card_visa_chargeDeclined": _GENERIC_DECLINE,
    "pm_card_chargeDeclinedInsufficientFunds": _INSUFFICIENT_FUNDS,
    "pm_card_visa_chargeDeclinedInsufficientFunds": _INSUFFICIENT_FUNDS,
    "pm_card_chargeDeclinedExpiredCard": Decline("expired_card", "expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedProcessingError": Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


@dataclass(frozen=True)
class CreatedIntent:
    """A new intent and the card error answered in its place when the charge was declined."""

    intent: dict[str, object]
    card_error: ApiError | None = None

    @property
    def status(self) -> int:
        return self.card_error.status if self.card_error else 200

    @property
    def body(self) -> dict[str, object]:
        return self.card_error.body() if self.card_error else self.intent


def new_id(prefix: str, length: int = 24) -> str:
    """A random Stripe-style object id such as `pi_...`."""
    return prefix + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def create_payment_intent(params: FormParams, *, now: int) -> CreatedIntent:
    """Validate `POST /v1/payment_intents` parameters and, with `confirm=true`, charge the test payment method."""
    unknown = sorted(set(params) - _SUPPORTED_PARAMS)
    if unknown:
        raise invalid_request(f"Received unknown parameter: {unknown[0]}", param=unknown[0], code="parameter_unknown")
    intent = _new_intent(params, now)
    payment_method = _optional_string(params, "payment_method")
    decline = _test_payment_method(payment_method) if payment_method is not None else None
    if not _boolean(params, "confirm"):
        intent["payment_method"] = payment_method
        intent["status"] = "requires_payment_method" if payment_method is None else "requires_confirmation"
        return CreatedIntent(intent)
    if payment_method is None:
        raise invalid_request(_MISSING_PAYMENT_METHOD, code="payment_intent_unexpected_state")
    _require_return_url_for_redirects(intent)
    charge_id = new_id("ch_")
    intent["latest_charge"] = charge_id
    if decline is None:
        intent.update(status="succeeded", amount_received=intent["amount"], payment_method=payment_method)
        return CreatedIntent(intent)
    error = _card_error(decline, charge_id, payment_method)
    # Stripe detaches a refused payment method, so the intent asks for another one.
    intent.update(status="requires_payment_method", payment_method=None, last_payment_error=error)
    return CreatedIntent(intent, ApiError(402, {**error, "payment_intent": intent}))


def _new_intent(params: FormParams, now: int) -> dict[str, object]:
    intent_id = new_id("pi_")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount_param(params),
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": _automatic_payment_methods(params),
        "canceled_at": None,
        "cancellation_reason": None,
        # Manual capture needs a capture endpoint, which this provider does not have.
        "capture_method": _choice(params, "capture_method", ("automatic_async", "automatic")),
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": _choice(params, "confirmation_method", ("automatic", "manual")),
        "created": now,
        "currency": _currency(params),
        "customer": _optional_string(params, "customer"),
        "description": _optional_string(params, "description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata_param(params),
        "next_action": None,
        "payment_method": None,
        "payment_method_types": _payment_method_types(params),
        "receipt_email": _optional_string(params, "receipt_email"),
        "return_url": _optional_string(params, "return_url"),
        "setup_future_usage": optional_choice_param(params, "setup_future_usage", ("off_session", "on_session")),
        "statement_descriptor": _optional_string(params, "statement_descriptor"),
        "statement_descriptor_suffix": _optional_string(params, "statement_descriptor_suffix"),
        "status": "requires_payment_method",
    }


def _test_payment_method(payment_method: str) -> Decline | None:
    if payment_method not in TEST_PAYMENT_METHODS:
        raise resource_missing("PaymentMethod", payment_method, param="payment_method")
    return TEST_PAYMENT_METHODS[payment_method]


def _require_return_url_for_redirects(intent: dict[str, object]) -> None:
    automatic = intent["automatic_payment_methods"]
    if (
        isinstance(automatic, dict)
        and automatic["enabled"]
        and automatic["allow_redirects"] != "never"
        and intent["return_url"] is None
    ):
        raise invalid_request(_RETURN_URL_REQUIRED)


def _card_error(decline: Decline, charge_id: str, payment_method: str) -> dict[str, object]:
    return {
        "type": "card_error",
        "code": decline.code,
        "decline_code": decline.decline_code,
        "message": decline.message,
        "charge": charge_id,
        "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
        "payment_method": {"id": payment_method, "object": "payment_method", "type": "card"},
    }


def amount_param(params: FormParams) -> int:
    """The positive integer `amount` parameter, in minor units, up to Stripe's ceiling for one charge."""
    raw = params.get("amount")
    if raw is None or raw == "":
        raise invalid_request("Missing required param: amount.", param="amount", code="parameter_missing")
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        raise invalid_request(f"Invalid integer: {raw}", param="amount", code="parameter_invalid_integer")
    amount = int(raw)
    if amount < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.", param="amount", code="parameter_invalid_integer"
        )
    if amount > _MAX_AMOUNT:
        raise invalid_request(f"Amount must be no more than {_MAX_AMOUNT}.", param="amount", code="amount_too_large")
    return amount


def _currency(params: FormParams) -> str:
    raw = params.get("currency")
    if raw is None or raw == "":
        raise invalid_request("Missing required param: currency.", param="currency", code="parameter_missing")
    currency = raw.lower() if isinstance(raw, str) else ""
    if currency not in CURRENCIES:
        raise invalid_request(f"Invalid currency: {raw}.", param="currency")
    return currency


def metadata_param(params: FormParams) -> dict[str, str]:
    raw = params.get("metadata", {})
    # An empty `metadata=` is how form encoding says "no metadata".
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param="metadata")
    if len(raw) > _MAX_METADATA_KEYS:
        raise invalid_request(f"Metadata can have at most {_MAX_METADATA_KEYS} keys.", param="metadata")
    metadata: dict[str, str] = {}
    for key, value in raw.items():
        param = f"metadata[{key}]"
        if not isinstance(value, str):
            raise invalid_request("Metadata values must be strings.", param=param)
        if len(key) > _MAX_METADATA_KEY_LENGTH or len(value) > _MAX_METADATA_VALUE_LENGTH:
            raise invalid_request(
                f"Metadata keys can be at most {_MAX_METADATA_KEY_LENGTH} characters and values at most "
                f"{_MAX_METADATA_VALUE_LENGTH}.",
                param=param,
            )
        metadata[key] = value
    return metadata


def _automatic_payment_methods(params: FormParams) -> dict[str, object] | None:
    raw = params.get("automatic_payment_methods")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param="automatic_payment_methods")
    unknown = sorted(set(raw) - {"enabled", "allow_redirects"})
    if unknown:
        param = f"automatic_payment_methods[{unknown[0]}]"
        raise invalid_request(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")
    if "enabled" not in raw:
        param = "automatic_payment_methods[enabled]"
        raise invalid_request(f"Missing required param: {param}.", param=param, code="parameter_missing")
    return {
        "enabled": _boolean(raw, "enabled", prefix="automatic_payment_methods"),
        "allow_redirects": _choice(raw, "allow_redirects", ("always", "never"), prefix="automatic_payment_methods"),
    }


def _payment_method_types(params: FormParams) -> list[str]:
    raw = params.get("payment_method_types", {"0": "card"})
    if not isinstance(raw, dict) or not all(key.isdigit() for key in raw):
        raise invalid_request("Invalid array", param="payment_method_types")
    types = [raw[key] for key in sorted(raw, key=int)]
    if not all(isinstance(item, str) and item for item in types):
        raise invalid_request("Payment method types must be non-empty strings.", param="payment_method_types")
    return [str(item) for item in types]


def _param_name(name: str, prefix: str | None) -> str:
    return f"{prefix}[{name}]" if prefix else name


def _optional_string(params: Mapping[str, FormValue], name: str, *, prefix: str | None = None) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise invalid_request("Invalid string", param=_param_name(name, prefix))
    return raw


def _boolean(params: Mapping[str, FormValue], name: str, *, prefix: str | None = None) -> bool:
    raw = _optional_string(params, name, prefix=prefix)
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise invalid_request(f"Invalid boolean: {raw}", param=_param_name(name, prefix))


def optional_choice_param(
    params: Mapping[str, FormValue], name: str, choices: tuple[str, ...], *, prefix: str | None = None
) -> str | None:
    raw = _optional_string(params, name, prefix=prefix)
    if raw is not None and raw not in choices:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(choices)}", param=_param_name(name, prefix))
    return raw


def _choice(params: Mapping[str, FormValue], name: str, choices: tuple[str, ...], *, prefix: str | None = None) -> str:
    """An enum parameter; the first choice is the default."""
    return optional_choice_param(params, name, choices, prefix=prefix) or choices[0]
