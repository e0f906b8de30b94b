"""Refunds over HTTP through the local cloud: support refunds, the worker gives back, the customer is told."""

from __future__ import annotations

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.test_shop_over_http import call, customer, mail_to, order_body, settled
from tests.support.accounts import admin_token, granted
from tests.support.cloud import RunningCloud, wait_for

RETRIES = 3
TABLE_NAME = "shop-e2e-ShopTable"


def staff(cloud: RunningCloud, role: str = "support") -> str:
    """A token of a new account holding `role`, granted by an admin made by the first-admin command."""
    return granted(cloud, admin_token(cloud, TABLE_NAME), [role])


def paid_order(cloud: RunningCloud) -> tuple[str, str, str]:
    """A customer's email and token, and their paid order of EUR 25.00."""
    email, token = customer(cloud)
    status, _, order = call(cloud, "POST", "/orders", order_body(), token=token)
    assert status == 201
    assert settled(cloud, token, order["id"])["status"] == "paid"
    return email, token, order["id"]


def refund(cloud: RunningCloud, token: str, order_id: str, amount: int, key: str) -> tuple[int, Any]:
    status, _, body = call(
        cloud,
        "POST",
        f"/orders/{order_id}/refunds",
        {"amount": amount, "reason": "damaged in transit"},
        token=token,
        Idempotency_Key=key,
    )
    return status, body


def provider_refunds(cloud: RunningCloud, payment_intent: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{cloud.payments}/v1/refunds?limit=100&payment_intent={payment_intent}",
        headers={"Authorization": "Bearer sk_test_e2e"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        refunds: list[dict[str, Any]] = json.load(response)["data"]
    return refunds


def intent_of(cloud: RunningCloud, order_id: str) -> str:
    request = urllib.request.Request(
        f"{cloud.payments}/v1/payment_intents?limit=100", headers={"Authorization": "Bearer sk_test_e2e"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        intents: list[dict[str, Any]] = json.load(response)["data"]
    return next(str(intent["id"]) for intent in intents if intent["metadata"].get("order_id") == order_id)


def refunded(cloud: RunningCloud, token: str, order_id: str, amount: int) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        _, _, order = call(cloud, "GET", f"/orders/{order_id}", token=token)
        return order if order["refunded_amount"] >= amount else None

    return wait_for(probe, what=f"order {order_id} to have {amount} refunded")


def test_support_refunds_part_of_a_paid_order_and_the_refund_email_arrives(cloud: RunningCloud) -> None:
    # Given a paid order
    email, token, order_id = paid_order(cloud)

    # When support refunds part of it
    status, created = refund(cloud, staff(cloud), order_id, 1000, str(uuid.uuid4()))

    # Then it is accepted, carried out, and the customer gets one refund email
    assert (status, created["status"], created["amount"]) == (201, "pending", 1000)
    order = refunded(cloud, token, order_id, 1000)
    assert (order["status"], order["refunded_amount"]) == ("partially_refunded", 1000)
    messages = mail_to(cloud, email, 3)
    assert [message.subject for message in messages].count(f"Refund of EUR 10.00 for order {order_id}") == 1
    [given_back] = provider_refunds(cloud, intent_of(cloud, order_id))
    assert given_back["metadata"]["refund_id"] == created["id"]


def test_a_customer_may_not_refund_their_own_order(cloud: RunningCloud) -> None:
    _, token, order_id = paid_order(cloud)

    status, problem = refund(cloud, token, order_id, 100, str(uuid.uuid4()))

    assert (status, problem["status"], problem["title"]) == (403, 403, "Forbidden")


def test_concurrent_refunds_never_exceed_the_capture(cloud: RunningCloud) -> None:
    # Given a paid order of 2500, and 30 support clients refunding 100 of it at once, 40 refunds in all
    _, token, order_id = paid_order(cloud)
    support = staff(cloud)

    def ask(_: int) -> int:
        # A 5xx (the gateway's timeout on a loaded machine, say) leaves the outcome unknown: the
        # client retries with the same key, which answers the refund if the first attempt made it.
        key = str(uuid.uuid4())
        for _attempt in range(RETRIES):
            status = refund(cloud, support, order_id, 100, key)[0]
            if status < 500:
                return status
        return status

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(ask, range(40)))

    # Then exactly the capture is accepted, the rest refused, and the provider gave back 2500
    assert sorted(statuses) == [201] * 25 + [409] * 15
    order = refunded(cloud, token, order_id, 2500)
    assert (order["status"], order["refunded_amount"]) == ("refunded", 2500)
    given_back = provider_refunds(cloud, intent_of(cloud, order_id))
    assert (len(given_back), sum(found["amount"] for found in given_back)) == (25, 2500)
