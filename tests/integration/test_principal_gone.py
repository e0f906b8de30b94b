"""Principals whose account no longer exists, against moto: their writes are refused, their email dropped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.worker_support import AwsCalls, Shop
from tests.support.events import api_event, json_body

pytest_plugins = ["tests.integration.worker_fixtures"]


def delete_account(dynamodb: Any, table: str, shop: Shop, user_id: str) -> None:
    """What deleting an account removes: the profile and the credential under the email."""
    email = shop.email_of(user_id)
    for key in ({"pk": f"USER#{user_id}", "sk": "PROFILE"}, {"pk": f"EMAIL#{email}", "sk": "CREDENTIAL"}):
        dynamodb.delete_item(TableName=table, Key={name: {"S": value} for name, value in key.items()})


def orders_and_keys_of(dynamodb: Any, table: str, user_id: str) -> list[str]:
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}},
        ConsistentRead=True,
    )["Items"]
    return [sk for item in items if (sk := item["sk"]["S"]).startswith(("ORDER#", "IDEMPOTENCY#"))]


@pytest.mark.parametrize("key", [None, str(uuid.uuid4())], ids=["without a key", "with an Idempotency-Key"])
def test_a_token_whose_account_is_gone_places_no_order_and_charges_nothing(
    shop: Shop, dynamodb: Any, key: str | None
) -> None:
    # Given a customer whose account was deleted while their token is still valid
    user = shop.customer()
    shop.notifications.drain()
    delete_account(dynamodb, shop.env["TABLE_NAME"], shop, user)
    event = api_event("create_order", user_id=user, headers={"Idempotency-Key": key} if key else None)
    if key is None:
        event["headers"].pop("Idempotency-Key")

    # When the token places an order
    response = shop.invoke("create_order", event)

    # Then it is a 401 problem, and nothing is stored or sent for payment
    problem = json_body(response)
    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert problem["detail"] == "the account this token was issued for no longer exists"
    assert orders_and_keys_of(dynamodb, shop.env["TABLE_NAME"], user) == []
    assert shop.payments.depth() == 0


def test_a_receipt_for_a_user_who_is_gone_is_dropped_with_a_metric_not_retried(
    shop: Shop, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a paid order whose owner's account is deleted before the receipt goes out
    user = shop.customer()
    shop.notifications.drain()
    email = shop.email_of(user)
    shop.place_order(user)
    shop.payments.drain()
    delete_account(dynamodb, shop.env["TABLE_NAME"], shop, user)
    capsys.readouterr()

    # When the notification worker takes the receipt job
    deliveries = shop.notifications.drain()

    # Then the job is done with: no email, no retry left in the queue, and the drop counted
    assert [delivery.failed_ids for delivery in deliveries] == [[]]
    assert shop.mail_to(email) == ["Welcome to the shop"]
    assert shop.notifications.depth() == 0
    assert '"NotificationDroppedUserGone"' in capsys.readouterr().out


def test_the_notification_worker_reads_users_consistently(shop: Shop, aws_call_log: AwsCalls) -> None:
    user = shop.customer()

    shop.notifications.drain()

    profile_reads = [
        params
        for params in aws_call_log.of("dynamodb", "GetItem")
        if params["Key"] == {"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}}
    ]
    assert profile_reads and all(params["ConsistentRead"] is True for params in profile_reads)
