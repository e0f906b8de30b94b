"""Operator routes in-process against moto: orders across customers, review decisions, roles, the first admin."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shop.adapters.order_ledger import DynamoOrderLedger
from shop.domain.models import Order
from shop.entrypoints import first_admin
from tests.support.catalog import stock_of
from tests.support.events import api_event, json_body

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
PASSWORD = "correct horse battery staple"


def register(invoke: Invoke, email: str) -> str:
    body = {"email": email, "password": PASSWORD, "name": "Someone"}
    return str(json_body(invoke("register", api_event("register", body=body)))["id"])


def place(invoke: Invoke, user_id: str) -> dict[str, Any]:
    event = api_event("create_order", user_id=user_id)
    event["headers"].pop("Idempotency-Key", None)
    return dict(json_body(invoke("create_order", event)))


def as_staff(name: str, roles: str = "admin", **kwargs: Any) -> dict[str, Any]:
    return api_event(name, user_id="operator-1", roles=roles, **kwargs)


def held_order(invoke: Invoke, dynamodb: Any, function_env: dict[str, str], user_id: str) -> str:
    order_id = str(place(invoke, user_id)["id"])
    ledger = DynamoOrderLedger(dynamodb, function_env["TABLE_NAME"])
    order = ledger.get(user_id, order_id)
    assert isinstance(order, Order)
    ledger.hold_for_review(order, "first charge attempt is past the provider's idempotency window")
    return order_id


def queued(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_staff_list_every_customers_orders_by_status_page_by_page(invoke: Invoke) -> None:
    # Given two customers with orders
    ada, bob = register(invoke, "ada@example.com"), register(invoke, "bob@example.com")
    placed = [place(invoke, ada)["id"], place(invoke, bob)["id"], place(invoke, ada)["id"]]

    # When support lists the pending ones two at a time
    first = json_body(
        invoke(
            "admin_list_orders",
            as_staff("admin_list_orders", "support", query={"limit": "2", "status": "pending_payment"}),
        )
    )
    second_query = {"limit": "2", "status": "pending_payment", "cursor": first["next_cursor"]}
    second = json_body(invoke("admin_list_orders", as_staff("admin_list_orders", "support", query=second_query)))

    # Then every order comes once, newest first, with its owner
    listed = [order["id"] for order in first["items"] + second["items"]]
    assert listed == sorted(placed, reverse=True)
    assert {order["user_id"] for order in first["items"] + second["items"]} == {ada, bob}
    assert (
        json_body(invoke("admin_list_orders", as_staff("admin_list_orders", query={"status": "paid"})))["items"] == []
    )


def test_a_customer_may_not_use_the_operator_views(invoke: Invoke) -> None:
    ada = register(invoke, "ada@example.com")
    order_id = place(invoke, ada)["id"]

    listing = invoke("admin_list_orders", api_event("admin_list_orders", user_id=ada))
    own_order = invoke(
        "admin_get_order", api_event("admin_get_order", user_id=ada, path_parameters={"order_id": order_id})
    )

    assert listing["statusCode"] == 403 and own_order["statusCode"] == 403


def test_staff_read_any_order_by_its_id_alone(invoke: Invoke) -> None:
    ada = register(invoke, "ada@example.com")
    order_id = place(invoke, ada)["id"]

    found = invoke("admin_get_order", as_staff("admin_get_order", "support", path_parameters={"order_id": order_id}))
    missing = invoke(
        "admin_get_order", as_staff("admin_get_order", path_parameters={"order_id": "01JDW3R8T2P6H9K1M3Q5S7U9ZZ"})
    )

    assert found["statusCode"] == 200
    assert json_body(found)["id"] == order_id and json_body(found)["user_id"] == ada
    assert missing["statusCode"] == 404


def test_retry_sends_a_held_order_back_to_the_payment_worker_once(
    invoke: Invoke, dynamodb: Any, sqs: Any, function_env: dict[str, str]
) -> None:
    # Given an order held for review, and the payments queue emptied of its first job
    ada = register(invoke, "ada@example.com")
    order_id = held_order(invoke, dynamodb, function_env, ada)
    queued(sqs, function_env["PAYMENTS_QUEUE_URL"])
    sqs.purge_queue(QueueUrl=function_env["PAYMENTS_QUEUE_URL"])
    before = json_body(invoke("admin_get_order", as_staff("admin_get_order", path_parameters={"order_id": order_id})))

    # When an admin resolves it with retry, twice
    resolve = as_staff("resolve_order", body={"action": "retry"}, path_parameters={"order_id": order_id})
    first, second = invoke("resolve_order", resolve), invoke("resolve_order", resolve)

    # Then the first answer records the decision and queues one charge; the second is a 409
    assert before["review_reason"] and before["status"] == "pending_payment"
    assert first["statusCode"] == 200, first["body"]
    assert json_body(first)["review_decision"] == "retry" and json_body(first)["reviewed_by"] == "operator-1"
    assert json_body(first)["charge_attempted_at"] is None
    assert second["statusCode"] == 409
    jobs = queued(sqs, function_env["PAYMENTS_QUEUE_URL"])
    assert [(job["type"], job["order_id"]) for job in jobs] == [("charge_order", order_id)]
    pending = DynamoOrderLedger(dynamodb, function_env["TABLE_NAME"]).pending_before(
        datetime(2100, 1, 1, tzinfo=UTC), 10
    )
    assert [key.order_id for key in pending] == [order_id]


def test_fail_ends_a_held_order_in_payment_failed_with_its_failure_email(
    invoke: Invoke, dynamodb: Any, sqs: Any, function_env: dict[str, str]
) -> None:
    # Given an order held for review, its units taken from stock
    ada = register(invoke, "ada@example.com")
    in_stock = stock_of(dynamodb, function_env["TABLE_NAME"], "BOOK-001")
    order_id = held_order(invoke, dynamodb, function_env, ada)
    sqs.purge_queue(QueueUrl=function_env["NOTIFICATIONS_QUEUE_URL"])

    response = invoke(
        "resolve_order", as_staff("resolve_order", body={"action": "fail"}, path_parameters={"order_id": order_id})
    )

    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "payment_failed"
    jobs = queued(sqs, function_env["NOTIFICATIONS_QUEUE_URL"])
    assert [(job["kind"], job["order_id"]) for job in jobs] == [("payment_failed", order_id)]
    failed = json_body(invoke("admin_list_orders", as_staff("admin_list_orders", query={"status": "payment_failed"})))
    own = json_body(invoke("list_orders", api_event("list_orders", user_id=ada, query={"status": "payment_failed"})))
    assert [order["id"] for order in failed["items"]] == [order_id] == [order["id"] for order in own["items"]]
    # A failed order never takes its units: they went back with the decision.
    assert stock_of(dynamodb, function_env["TABLE_NAME"], "BOOK-001") == in_stock


def test_a_cancelled_order_moves_to_the_cancelled_status_of_the_operator_view(invoke: Invoke) -> None:
    # Given a customer's pending order
    ada = register(invoke, "ada@example.com")
    order_id = place(invoke, ada)["id"]

    # When the customer cancels it
    cancelled = invoke("cancel_order", api_event("cancel_order", user_id=ada, path_parameters={"order_id": order_id}))

    # Then staff find it among the cancelled orders, and no longer among the pending ones
    def listed(status: str) -> list[str]:
        page = json_body(
            invoke("admin_list_orders", as_staff("admin_list_orders", "support", query={"status": status}))
        )
        return [order["id"] for order in page["items"]]

    assert cancelled["statusCode"] == 200 and json_body(cancelled)["status"] == "cancelled"
    assert listed("cancelled") == [order_id]
    assert order_id not in listed("pending_payment")


def test_an_order_not_held_cannot_be_resolved_and_support_may_not_resolve(invoke: Invoke) -> None:
    ada = register(invoke, "ada@example.com")
    order_id = place(invoke, ada)["id"]
    body = {"action": "fail"}

    not_held = invoke("resolve_order", as_staff("resolve_order", body=body, path_parameters={"order_id": order_id}))
    by_support = invoke(
        "resolve_order", as_staff("resolve_order", "support", body=body, path_parameters={"order_id": order_id})
    )

    assert not_held["statusCode"] == 409 and by_support["statusCode"] == 403


def test_an_admin_replaces_roles_and_the_next_login_carries_them(invoke: Invoke) -> None:
    # Given a customer
    bob = register(invoke, "bob@example.com")

    # When an admin makes them support only
    response = invoke(
        "set_user_roles", as_staff("set_user_roles", body={"roles": ["support"]}, path_parameters={"user_id": bob})
    )
    policy = token_context(invoke, "bob@example.com")

    # Then the profile and the next token carry the new roles
    assert response["statusCode"] == 200 and json_body(response)["roles"] == ["support"]
    assert policy["roles"] == "support"
    assert json_body(invoke("me", api_event("me", user_id=bob, roles="support")))["roles"] == ["support"]


def token_context(invoke: Invoke, email: str) -> dict[str, Any]:
    """The authorizer context of a token from a fresh login."""
    token = json_body(invoke("login", api_event("login", body={"email": email, "password": PASSWORD})))
    policy = invoke(
        "authorizer",
        {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {token['access_token']}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/dev/GET/me",
        },
    )
    context: dict[str, Any] = policy["context"]
    return context


@pytest.mark.parametrize(
    ("roles", "body", "user", "status"),
    [
        ("customer", {"roles": ["admin"]}, "self", 403),
        ("admin", {"roles": ["admin"]}, "01JDW3Q5Z8M1K7V2N4X6Y9ZZZZ", 404),
        ("admin", {"roles": ["root"]}, "self", 422),
        ("admin", {"roles": ["admin", "admin"]}, "self", 422),
    ],
)
def test_role_changes_are_refused_to_non_admins_unknown_users_and_unknown_roles(
    invoke: Invoke, roles: str, body: dict[str, Any], user: str, status: int
) -> None:
    ada = register(invoke, "ada@example.com")
    target = ada if user == "self" else user

    response = invoke(
        "set_user_roles",
        api_event("set_user_roles", user_id=ada, roles=roles, body=body, path_parameters={"user_id": target}),
    )

    assert response["statusCode"] == status


def test_the_first_admin_command_promotes_a_registered_account_and_refuses_an_unknown_one(
    invoke: Invoke, function_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register(invoke, "grace@example.com")

    promoted = first_admin.main(["--table-name", function_env["TABLE_NAME"], "--email", "Grace@example.com"])
    again = first_admin.main(["--table-name", function_env["TABLE_NAME"], "--email", "grace@example.com"])
    unknown = first_admin.main(["--table-name", function_env["TABLE_NAME"], "--email", "nobody@example.com"])

    output = capsys.readouterr()
    assert (promoted, again, unknown) == (0, 0, 1)
    assert "customer, admin" in output.out
    assert output.err.strip().splitlines() == [
        "first_admin: no account has the email nobody@example.com: register it first (POST /auth/register)"
    ]
    assert token_context(invoke, "grace@example.com")["roles"] == "customer,admin"
