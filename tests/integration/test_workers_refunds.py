"""Refunds against moto and the fake payment provider: the route, the payment worker and the refund email."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from localcloud.payments import PaymentProvider
from tests.integration.worker_support import AwsCalls, Shop
from tests.support.events import api_event, json_body

pytest_plugins = ["tests.integration.worker_fixtures"]


def paid_order(shop: Shop) -> tuple[str, str]:
    """A customer and their order of EUR 28.00, charged and settled."""
    user = shop.customer()
    order = shop.place_order(user)
    shop.payments.drain()
    assert shop.order_status(user, order) == "paid"
    return user, order


def refund(
    shop: Shop, order_id: str, amount: int, *, key: str | None = None, roles: str = "support", reason: str = "damaged"
) -> dict[str, Any]:
    headers = {} if key is None else {"Idempotency-Key": key}
    event = api_event(
        "refund_order",
        path_parameters={"order_id": order_id},
        body={"amount": amount, "reason": reason},
        request_id=str(uuid.uuid4()),
    )
    event["headers"].pop("Idempotency-Key")
    event["multiValueHeaders"].pop("Idempotency-Key")
    event["headers"].update(headers)
    event["requestContext"]["authorizer"]["roles"] = roles
    return shop.invoke("refund_order", event)


def stored_order(shop: Shop, dynamodb: Any, user_id: str, order_id: str) -> dict[str, Any]:
    key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{order_id}"}}
    item = dynamodb.get_item(TableName=shop.env["TABLE_NAME"], Key=key, ConsistentRead=True)["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def provider_refunds(provider: PaymentProvider, order_id: str) -> list[dict[str, Any]]:
    refunds: list[dict[str, Any]] = provider.refunds()
    return [found for found in refunds if found["metadata"].get("order_id") == order_id]


def test_support_refunds_part_of_a_paid_order_once_and_the_customer_gets_one_refund_email(
    shop: Shop, payment_provider: PaymentProvider, dynamodb: Any
) -> None:
    # Given a paid order
    user, order = paid_order(shop)

    # When support refunds part of it and the workers run, the refund job delivered twice
    response = refund(shop, order, 1250, key="refund-key-1")
    [job] = shop.payments.receive()
    shop.payments.deliver([job])
    shop.payments.deliver([job])
    shop.notifications.drain()

    # Then the provider refunded it once, under the refund's own idempotency key
    assert response["statusCode"] == 201, response
    created = json_body(response)
    assert (created["status"], created["amount"], created["currency"]) == ("pending", 1250, "EUR")
    [given_back] = provider_refunds(payment_provider, order)
    assert (given_back["amount"], given_back["metadata"]["refund_id"]) == (1250, created["id"])
    # And the order is partially refunded, in its status partitions (the owner's and the operators')
    item = stored_order(shop, dynamodb, user, order)
    assert (item["status"], item["refunded_amount"], item["refund_reserved"]) == ("partially_refunded", "1250", "1250")
    assert item["gsi1pk"] == f"USER#{user}#partially_refunded"
    assert item["gsi3pk"] == "ORDERSTATUS#partially_refunded"
    view = json_body(
        shop.invoke("get_order", api_event("get_order", user_id=user, path_parameters={"order_id": order}))
    )
    assert (view["status"], view["refunded_amount"]) == ("partially_refunded", 1250)
    # And one refund email went out
    assert shop.mail_to(shop.email_of(user)).count(f"Refund of EUR 12.50 for order {order}") == 1


def test_refunds_up_to_the_total_make_the_order_refunded_and_a_further_one_is_a_conflict(
    shop: Shop, payment_provider: PaymentProvider
) -> None:
    user, order = paid_order(shop)

    first = refund(shop, order, 2000, key="k-1")
    second = refund(shop, order, 801, key="k-2")
    rest = refund(shop, order, 800, key="k-3")
    shop.payments.drain()

    assert [first["statusCode"], second["statusCode"], rest["statusCode"]] == [201, 409, 201]
    assert "only 800 " in json_body(second)["detail"]
    assert shop.order_status(user, order) == "refunded"
    assert sum(found["amount"] for found in provider_refunds(payment_provider, order)) == 2800
    assert refund(shop, order, 1, key="k-4")["statusCode"] == 409


def test_a_retried_request_returns_the_first_refund_and_another_body_with_its_key_is_refused(shop: Shop) -> None:
    _, order = paid_order(shop)

    first = refund(shop, order, 500, key="k-1")
    again = refund(shop, order, 500, key="k-1")
    other = refund(shop, order, 600, key="k-1")

    assert again["statusCode"] == 201
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert json_body(again)["id"] == json_body(first)["id"]
    assert other["statusCode"] == 422
    assert shop.payments.depth() == 2


@pytest.mark.parametrize(
    ("roles", "order_id", "key", "status"),
    [
        ("customer", None, "k", 403),
        ("customer", "01NOSUCHORDER0000000000000", "k", 403),
        ("admin", "01NOSUCHORDER0000000000000", "k", 404),
        ("support", None, None, 422),
    ],
)
def test_refusals_are_problem_documents(
    shop: Shop, roles: str, order_id: str | None, key: str | None, status: int
) -> None:
    _, order = paid_order(shop)

    response = refund(shop, order_id or order, 100, key=key, roles=roles)

    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert shop.payments.depth() == 0


def test_a_refund_the_provider_refuses_fails_and_frees_its_reservation_without_an_email(
    shop: Shop, payment_provider: PaymentProvider, dynamodb: Any
) -> None:
    # Given a paid order of which 2000 was refunded at the provider directly (its dashboard, say)
    user, order = paid_order(shop)
    payment_id = stored_order(shop, dynamodb, user, order)["payment_id"]
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": payment_provider.url})
    client.v1.refunds.create(params={"payment_intent": payment_id, "amount": 2000})

    # When support refunds 1000 of it
    refund(shop, order, 1000, key="k-1")
    [delivery] = shop.payments.drain()
    shop.notifications.drain()

    # Then the provider refused, the order is still paid with nothing reserved, and no email went out
    assert delivery.failed_ids == []
    item = stored_order(shop, dynamodb, user, order)
    assert (item["status"], item["refund_reserved"]) == ("paid", "0")
    assert not any(subject.startswith("Refund") for subject in shop.mail_to(shop.email_of(user)))


def test_a_refund_request_and_its_execution_make_the_minimum_of_aws_calls(shop: Shop, aws_call_log: AwsCalls) -> None:
    _, order = paid_order(shop)
    before = len(aws_call_log.calls)

    refund(shop, order, 100, key="k-1")
    requested = [call[:2] for call in aws_call_log.calls[before:]]

    # The owner from the index, the order read consistently, one transaction, the job
    assert requested == [
        ("dynamodb", "Query"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "TransactWriteItems"),
        ("sqs", "SendMessage"),
    ]
    # The worker: the refund and its order in one read, both settled in one transaction, the email job
    [job] = shop.payments.receive()
    before = len(aws_call_log.calls)
    shop.payments.deliver([job])
    executed = [call[:2] for call in aws_call_log.calls[before:] if call[:2] != ("sqs", "DeleteMessage")]
    assert executed == [("dynamodb", "BatchGetItem"), ("dynamodb", "TransactWriteItems"), ("sqs", "SendMessage")]
