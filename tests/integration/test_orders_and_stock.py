"""Orders priced from the catalog with stock reserved in the order's transaction, cancel and release, against moto."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from localcloud.payments import PaymentProvider
from tests.integration.worker_support import AwsCalls, Shop
from tests.support.catalog import SeedProduct, seed_products, stock_of
from tests.support.events import api_event, json_body

pytest_plugins = ["tests.integration.worker_fixtures"]

CLIENTS = 40


def order_event(user_id: str, items: list[dict[str, Any]], *, payment_method: str = "pm_card_visa") -> dict[str, Any]:
    body = {"items": items, "currency": "EUR", "payment_method": payment_method}
    return api_event(
        "create_order",
        user_id=user_id,
        body=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        request_id=str(uuid.uuid4()),
    )


def cancel_event(user_id: str, order_id: str) -> dict[str, Any]:
    return api_event(
        "cancel_order", user_id=user_id, path_parameters={"order_id": order_id}, request_id=str(uuid.uuid4())
    )


@pytest.fixture
def table(shop: Shop) -> str:
    return shop.env["TABLE_NAME"]


def test_an_order_snapshots_catalog_names_and_prices_and_takes_its_units_from_stock(
    shop: Shop, dynamodb: Any, table: str
) -> None:
    user = shop.customer()
    before = stock_of(dynamodb, table, "BOOK-001")

    response = shop.invoke("create_order", order_event(user, [{"sku": "BOOK-001", "quantity": 3}]))

    order = json_body(response)
    assert response["statusCode"] == 201
    assert order["items"] == [{"sku": "BOOK-001", "name": "Dune (paperback)", "quantity": 3, "unit_price": 1250}]
    assert order["total"] == 3750
    assert stock_of(dynamodb, table, "BOOK-001") == before - 3


def test_more_units_than_in_stock_is_a_409_listing_each_short_sku_and_takes_nothing(
    shop: Shop, dynamodb: Any, table: str
) -> None:
    seed_products(dynamodb, table, (SeedProduct("LAMP-1", "Desk lamp", 4000, stock=2),))
    user = shop.customer()
    items = [{"sku": "LAMP-1", "quantity": 5}, {"sku": "BOOK-001", "quantity": 1}]
    book_stock = stock_of(dynamodb, table, "BOOK-001")

    response = shop.invoke("create_order", order_event(user, items))

    problem = json_body(response)
    assert response["statusCode"] == 409
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert problem["shortages"] == [{"sku": "LAMP-1", "requested": 5, "available": 2, "short_by": 3}]
    assert "LAMP-1 (short by 3)" in problem["detail"]
    assert (stock_of(dynamodb, table, "LAMP-1"), stock_of(dynamodb, table, "BOOK-001")) == (2, book_stock)
    listed = json_body(shop.invoke("list_orders", api_event("list_orders", user_id=user, query={})))
    assert listed["items"] == []


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [{"sku": "BOOK-001", "quantity": 1}, {"sku": "NO-SUCH", "quantity": 1}],
            "there is no product with sku NO-SUCH",
        ),
        ([{"sku": "BOOK-001", "quantity": 1}, {"sku": "USD-1", "quantity": 1}], "priced in USD, the order is in EUR"),
    ],
)
def test_an_unknown_sku_or_another_currency_is_a_422_naming_the_line(
    shop: Shop, dynamodb: Any, table: str, items: list[dict[str, Any]], message: str
) -> None:
    seed_products(dynamodb, table, (SeedProduct("USD-1", "Imported", 999, currency="USD"),))
    user = shop.customer()

    response = shop.invoke("create_order", order_event(user, items))

    problem = json_body(response)
    assert response["statusCode"] == 422
    assert [error["location"] for error in problem["errors"]] == ["body.items.1.sku"]
    assert message in problem["errors"][0]["message"] and "items.1.sku" in problem["detail"]


def test_an_inactive_product_is_a_422_naming_the_line(shop: Shop, dynamodb: Any, table: str) -> None:
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "PRODUCT#PEN-042"}, "sk": {"S": "PRODUCT"}},
        UpdateExpression="SET active = :no, #version = #version + :one",
        ExpressionAttributeNames={"#version": "version"},
        ExpressionAttributeValues={":no": {"BOOL": False}, ":one": {"N": "1"}},
    )
    user = shop.customer()

    response = shop.invoke("create_order", order_event(user, [{"sku": "PEN-042", "quantity": 1}]))

    assert response["statusCode"] == 422
    assert json_body(response)["errors"][0]["message"] == "product PEN-042 is no longer sold"


def test_a_declined_card_puts_the_units_back(shop: Shop, dynamodb: Any, table: str) -> None:
    user = shop.customer()
    before = stock_of(dynamodb, table, "BOOK-001")
    placed = shop.invoke(
        "create_order",
        order_event(user, [{"sku": "BOOK-001", "quantity": 2}], payment_method="pm_card_chargeDeclined"),
    )
    assert stock_of(dynamodb, table, "BOOK-001") == before - 2

    shop.payments.drain()

    assert shop.order_status(user, json_body(placed)["id"]) == "payment_failed"
    assert stock_of(dynamodb, table, "BOOK-001") == before


def test_the_owner_cancels_a_pending_order_its_units_go_back_once_and_its_email_is_queued(
    shop: Shop, dynamodb: Any, table: str
) -> None:
    user = shop.customer()
    before = stock_of(dynamodb, table, "BOOK-001")
    order_id = json_body(shop.invoke("create_order", order_event(user, [{"sku": "BOOK-001", "quantity": 2}])))["id"]

    first = shop.invoke("cancel_order", cancel_event(user, order_id))
    again = shop.invoke("cancel_order", cancel_event(user, order_id))

    assert first["statusCode"] == again["statusCode"] == 200
    assert json_body(first)["status"] == "cancelled" and json_body(first)["cancellation_reason"] == "customer"
    assert stock_of(dynamodb, table, "BOOK-001") == before
    assert [job["kind"] for job in shop.email_jobs() if job.get("order_id") == order_id] == [
        "order_cancelled",
        "order_cancelled",
    ]
    # The charge job that follows finds a cancelled order and charges nothing.
    shop.payments.drain()
    assert shop.order_status(user, order_id) == "cancelled"


def test_cancelling_a_paid_order_is_a_409_saying_it_was_paid(shop: Shop) -> None:
    user = shop.customer()
    order_id = shop.place_order(user)
    shop.payments.drain()

    response = shop.invoke("cancel_order", cancel_event(user, order_id))

    assert response["statusCode"] == 409
    assert "was paid" in json_body(response)["detail"]
    assert shop.order_status(user, order_id) == "paid"


def test_another_customers_order_cannot_be_cancelled_and_answers_404(shop: Shop) -> None:
    owner, stranger = shop.customer(), shop.customer()
    order_id = shop.place_order(owner)

    response = shop.invoke("cancel_order", cancel_event(stranger, order_id))

    assert response["statusCode"] == 404
    assert shop.order_status(owner, order_id) == "pending_payment"


def test_a_cancellation_email_and_event_follow_a_cancel(shop: Shop, aws_call_log: AwsCalls) -> None:
    user = shop.customer()
    order_id = shop.place_order(user)
    shop.invoke("cancel_order", cancel_event(user, order_id))

    shop.notifications.drain()

    assert f"Order {order_id} cancelled" in shop.mail_to(shop.email_of(user))
    published = [json.loads(call["Message"]) for call in aws_call_log.of("sns", "Publish")] + [
        json.loads(entry["Message"])
        for call in aws_call_log.of("sns", "PublishBatch")
        for entry in call["PublishBatchRequestEntries"]
    ]
    assert [(event["event_type"], event["order_id"]) for event in published] == [("order.cancelled", order_id)]


@pytest.mark.usefixtures("atomic_moto_writes")
def test_the_last_units_of_a_sku_go_to_exactly_as_many_concurrent_clients_as_there_are_units(
    shop: Shop, dynamodb: Any, table: str
) -> None:
    # Given 10 units of a sku and 40 customers, each about to order one
    seed_products(dynamodb, table, (SeedProduct("LAST-1", "Limited print", 5000, stock=10),))
    users = [shop.customer() for _ in range(CLIENTS)]
    shop.invoke("create_order", order_event(users[0], [{"sku": "BOOK-001", "quantity": 1}]))

    # When they all order at once
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        responses = list(
            pool.map(
                lambda user: shop.invoke("create_order", order_event(user, [{"sku": "LAST-1", "quantity": 1}])), users
            )
        )

    # Then exactly the 10 units are sold, each 201 holds its unit, and the rest are told what is short
    created = [(user, json_body(r)) for user, r in zip(users, responses, strict=True) if r["statusCode"] == 201]
    refused = [json_body(r) for r in responses if r["statusCode"] == 409]
    assert len(created) == 10 and len(refused) == CLIENTS - 10
    assert stock_of(dynamodb, table, "LAST-1") == 0
    line = [{"sku": "LAST-1", "name": "Limited print", "quantity": 1, "unit_price": 5000}]
    for user, order in created:
        stored = shop.invoke(
            "get_order", api_event("get_order", user_id=user, path_parameters={"order_id": order["id"]})
        )
        assert order["items"] == json_body(stored)["items"] == line
    assert all(
        problem["shortages"] == [{"sku": "LAST-1", "requested": 1, "available": 0, "short_by": 1}]
        for problem in refused
    )


@pytest.mark.usefixtures("atomic_moto_writes")
def test_a_cancel_racing_the_charge_never_leaves_an_order_paid_and_cancelled(
    shop: Shop, dynamodb: Any, table: str, payment_provider: PaymentProvider
) -> None:
    # Given 30 pending orders whose charge jobs are waiting
    users = [shop.customer() for _ in range(30)]
    warm_up = shop.place_order(users[0])
    orders = [(user, shop.place_order(user)) for user in users]
    jobs = {json.loads(message["Body"])["order_id"]: message for message in _receive_all(shop)}
    # Both handlers imported before the threads start, as warm functions would be.
    shop.invoke("payment_worker", shop.payments.event_for([jobs.pop(warm_up)]))
    shop.invoke("cancel_order", cancel_event(users[0], warm_up))
    stock_before = stock_of(dynamodb, table, "BOOK-001")

    # When every customer cancels while the payment worker charges the same order
    def cancel(user: str, order_id: str) -> int:
        return int(shop.invoke("cancel_order", cancel_event(user, order_id))["statusCode"])

    def charge(order_id: str) -> Any:
        return shop.invoke("payment_worker", shop.payments.event_for([jobs[order_id]]))

    with ThreadPoolExecutor(max_workers=2 * len(orders)) as pool:
        cancels = [pool.submit(cancel, user, order_id) for user, order_id in orders]
        charges = [pool.submit(charge, order_id) for _, order_id in orders]
        assert all(future.result() == {"batchItemFailures": []} for future in charges)

    # Then each order is either cancelled and never charged, or paid once and the cancel refused
    intents: list[dict[str, Any]] = payment_provider.intents()
    cancelled = 0
    for (user, order_id), answer in zip(orders, cancels, strict=True):
        status = shop.order_status(user, order_id)
        charged = [i for i in intents if i["metadata"]["order_id"] == order_id and i["status"] == "succeeded"]
        if answer.result() == 200:
            assert status == "cancelled" and charged == []
            cancelled += 1
        else:
            assert answer.result() == 409 and status == "paid" and len(charged) == 1
    # And exactly the cancelled orders' units came back
    assert stock_of(dynamodb, table, "BOOK-001") == stock_before + 2 * cancelled


def _receive_all(shop: Shop) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := shop.payments.receive(visibility=300):
        messages += batch
    return messages
