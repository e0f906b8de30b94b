"""Refund creation: Stripe's parameters, its refusals and the Refund object's shape.

A refund is held to what its PaymentIntent captured: the store runs `create_refund` under its
lock with the sum already refunded, so concurrent refunds can never refund more than the charge.
"""

from __future__ import annotations

from collections.abc import Mapping

from localcloud.payments.errors import invalid_request
from localcloud.payments.formdata import FormParams
from localcloud.payments.intents import amount_param, metadata_param, new_id, optional_choice_param

_SUPPORTED_PARAMS = frozenset({"amount", "metadata", "payment_intent", "reason"})
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def refunded_intent_id(params: FormParams) -> str:
    """The PaymentIntent a `POST /v1/refunds` names, after checking the parameters it may carry."""
    unknown = sorted(set(params) - _SUPPORTED_PARAMS)
    if unknown:
        raise invalid_request(f"Received unknown parameter: {unknown[0]}", param=unknown[0], code="parameter_unknown")
    intent_id = params.get("payment_intent")
    if intent_id is None or intent_id == "":
        raise invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    if not isinstance(intent_id, str):
        raise invalid_request("Invalid string", param="payment_intent")
    return intent_id


def create_refund(
    params: FormParams, intent: Mapping[str, object], already_refunded: int, *, now: int
) -> dict[str, object]:
    """A succeeded Refund of `intent`, or Stripe's error when the intent has nothing (or not enough) to refund."""
    metadata = metadata_param(params)
    reason = optional_choice_param(params, "reason", REFUND_REASONS)
    requested = None if params.get("amount") is None else amount_param(params)
    received = intent.get("amount_received")
    if intent.get("status") != "succeeded" or not isinstance(received, int):
        raise invalid_request(
            f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
            param="payment_intent",
        )
    remainder = received - already_refunded
    if remainder <= 0:
        raise invalid_request(
            f"Charge {intent['latest_charge']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remainder if requested is None else requested
    if amount > remainder:
        raise invalid_request(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remainder})",
            param="amount",
            code="amount_too_large",
        )
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": intent["latest_charge"],
        "created": now,
        "currency": intent["currency"],
        "metadata": metadata,
        "payment_intent": intent["id"],
        "reason": reason,
        "receipt_number": None,
        "status": "succeeded",
    }
