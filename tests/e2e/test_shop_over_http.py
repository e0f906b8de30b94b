"""A customer's whole journey through the local cloud, over HTTP, as the README walks it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import boto3

from localcloud.operations import list_mail
from tests.support.catalog import stock_of
from tests.support.cloud import RunningCloud, wait_for

PASSWORD = "correct horse battery staple"


def call(
    cloud: RunningCloud, method: str, path: str, body: Any = None, token: str | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{cloud.api}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def customer(cloud: RunningCloud) -> tuple[str, str]:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    status, _, _ = call(cloud, "POST", "/auth/register", {"email": email, "password": PASSWORD, "name": "Ada"})
    assert status == 201
    status, _, body = call(cloud, "POST", "/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200
    return email, body["access_token"]


def order_body(payment_method: str = "pm_card_visa") -> dict[str, Any]:
    return {
        "items": [{"sku": "BOOK-1", "quantity": 2}],
        "currency": "EUR",
        "payment_method": payment_method,
    }


def settled(cloud: RunningCloud, token: str, order_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        _, _, order = call(cloud, "GET", f"/orders/{order_id}", token=token)
        return None if order["status"] == "pending_payment" else order

    return wait_for(probe, what=f"order {order_id} to settle")


def mail_to(cloud: RunningCloud, email: str, count: int) -> list[Any]:
    def probe() -> list[Any] | None:
        messages = [message for message in list_mail(cloud.aws) if email in message.to]
        return messages if len(messages) >= count else None

    return wait_for(probe, what=f"{count} emails to {email}")


def intents_for(cloud: RunningCloud, order_id: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{cloud.payments}/v1/payment_intents?limit=100", headers={"Authorization": "Bearer sk_test_e2e"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        intents: list[dict[str, Any]] = json.load(response)["data"]
    return [intent for intent in intents if intent["metadata"].get("order_id") == order_id]


def test_an_order_is_paid_once_and_a_receipt_follows(cloud: RunningCloud) -> None:
    email, token = customer(cloud)

    status, headers, order = call(cloud, "POST", "/orders", order_body(), token=token)
    paid = settled(cloud, token, order["id"])
    mail = mail_to(cloud, email, count=2)

    assert status == 201 and order["status"] == "pending_payment" and order["total"] == 2500
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert paid["status"] == "paid"
    assert [intent["status"] for intent in intents_for(cloud, order["id"])] == ["succeeded"]
    assert len(mail) == 2
    assert any(order["id"] in (message.text or "") for message in mail)


def test_a_declined_card_fails_the_order_with_one_failure_email(cloud: RunningCloud) -> None:
    email, token = customer(cloud)

    _, _, order = call(cloud, "POST", "/orders", order_body("pm_card_chargeDeclined"), token=token)
    failed = settled(cloud, token, order["id"])
    mail = mail_to(cloud, email, count=2)

    assert failed["status"] == "payment_failed"
    assert len(intents_for(cloud, order["id"])) == 1
    assert len(mail) == 2


def test_a_retried_post_with_the_same_key_is_one_order_and_one_charge(cloud: RunningCloud) -> None:
    _, token = customer(cloud)
    key = str(uuid.uuid4())

    first = call(cloud, "POST", "/orders", order_body(), token=token, Idempotency_Key=key)
    second = call(cloud, "POST", "/orders", order_body(), token=token, Idempotency_Key=key)
    settled(cloud, token, first[2]["id"])
    _, _, listed = call(cloud, "GET", "/orders", token=token)

    assert first[0] == second[0] == 201 and first[2]["id"] == second[2]["id"]
    assert second[1]["Idempotent-Replayed"] == "true"
    assert [order["id"] for order in listed["items"]] == [first[2]["id"]]
    assert len(intents_for(cloud, first[2]["id"])) == 1


def test_protected_routes_refuse_a_missing_or_bad_token(cloud: RunningCloud) -> None:
    missing = call(cloud, "GET", "/orders")
    forged = call(cloud, "GET", "/orders", token="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")

    assert missing[0] == 401 and missing[2] == {"message": "Unauthorized"}
    assert forged[0] == 401


def test_validation_errors_are_problem_details_over_http(cloud: RunningCloud) -> None:
    _, token = customer(cloud)

    status, headers, problem = call(cloud, "POST", "/orders", {"items": []}, token=token)

    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert {error["location"] for error in problem["errors"]} == {"body.items", "body.currency", "body.payment_method"}
    assert problem["request_id"] == headers["x-amzn-RequestId"]


def test_the_documentation_routes_are_public(cloud: RunningCloud) -> None:
    status, _, document = call(cloud, "GET", "/openapi.json")

    assert status == 200 and document["openapi"] == "3.1.0"
    # The local gateway serves the stage at its root, so Swagger UI's calls must go there too.
    assert document["servers"] == [{"url": "/"}]
    assert {"/orders", "/orders/{order_id}", "/auth/login"} <= document["paths"].keys()


def stock(cloud: RunningCloud, sku: str) -> int:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=cloud.aws,
        region_name="us-east-1",
        aws_access_key_id="e2e",
        aws_secret_access_key="e2e",
    )
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if "ShopTable" in name]
    return stock_of(dynamodb, table, sku)


def test_stock_drops_when_ordering_and_comes_back_on_a_declined_card(cloud: RunningCloud) -> None:
    _, token = customer(cloud)
    before = stock(cloud, "BOOK-2")

    def order(payment_method: str) -> dict[str, Any]:
        body = {"items": [{"sku": "BOOK-2", "quantity": 3}], "currency": "EUR", "payment_method": payment_method}
        status, _, placed = call(cloud, "POST", "/orders", body, token=token)
        assert status == 201 and placed["items"][0]["name"] == "Children of Dune"
        return settled(cloud, token, placed["id"])

    paid = order("pm_card_visa")
    after_paid = stock(cloud, "BOOK-2")
    declined = order("pm_card_chargeDeclined")

    assert paid["status"] == "paid" and after_paid == before - 3
    assert declined["status"] == "payment_failed"
    assert wait_for(lambda: stock(cloud, "BOOK-2") == before - 3 or None, what="the declined units back in stock")


def test_a_cancel_right_after_placing_either_cancels_with_the_units_back_or_finds_the_order_paid(
    cloud: RunningCloud,
) -> None:
    _, token = customer(cloud)
    before = stock(cloud, "PEN-042")
    body = {"items": [{"sku": "PEN-042", "quantity": 2}], "currency": "EUR", "payment_method": "pm_card_visa"}

    _, _, order = call(cloud, "POST", "/orders", body, token=token)
    status, _, answer = call(cloud, "POST", f"/orders/{order['id']}/cancel", token=token)

    if status == 200:
        assert answer["status"] == "cancelled" and stock(cloud, "PEN-042") == before
        assert intents_for(cloud, order["id"]) == []
    else:
        assert status == 409 and "paid" in answer["detail"]
        assert settled(cloud, token, order["id"])["status"] == "paid" and stock(cloud, "PEN-042") == before - 2
