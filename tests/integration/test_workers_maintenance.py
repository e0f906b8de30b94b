"""The scheduled maintenance sweep against moto: stuck orders re-dispatched once, dead-letter depths reported."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.worker_support import AwsCalls, Shop
from tests.support.events import load_event

pytest_plugins = ["tests.integration.worker_fixtures"]

AN_HOUR_AGO = "2026-11-26T21:00:00.000Z"


@pytest.fixture
def paused_shop(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """Orders are accepted but no payment job is sent: the state the sweep exists for."""
    monkeypatch.setenv("PAUSE_PAYMENT_DISPATCH", "true")
    return shop


def age(shop: Shop, dynamodb: Any, user_id: str, order_id: str) -> None:
    """Make the order an hour old, as if it had been waiting since."""
    dynamodb.update_item(
        TableName=shop.env["TABLE_NAME"],
        Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{order_id}"}},
        UpdateExpression="SET created_at = :then, updated_at = :then, gsi2sk = :then",
        ExpressionAttributeValues={":then": {"S": AN_HOUR_AGO}},
    )


def queued_charges(shop: Shop) -> list[str]:
    return [json.loads(message["Body"])["order_id"] for message in shop.payments.peek()]


def test_the_sweep_sends_a_stuck_order_for_payment_once_and_leaves_fresh_ones(
    paused_shop: Shop, dynamodb: Any, monkeypatch: pytest.MonkeyPatch, aws_call_log: AwsCalls
) -> None:
    # Given two orders placed while dispatch was paused, one of them an hour ago
    user = paused_shop.customer()
    stuck, fresh = paused_shop.place_order(user), paused_shop.place_order(user)
    age(paused_shop, dynamodb, user, stuck)
    assert paused_shop.payments.depth() == 0

    # When dispatch resumes and the sweep runs twice
    monkeypatch.setenv("PAUSE_PAYMENT_DISPATCH", "false")
    first = paused_shop.invoke("maintenance", load_event("maintenance"))
    second = paused_shop.invoke("maintenance", load_event("maintenance"))

    # Then the stuck order was sent once, read through the index and never by a Scan
    assert (first["requeued_order_ids"], second["requeued_order_ids"]) == ([stuck], [])
    assert queued_charges(paused_shop) == [stuck]
    assert aws_call_log.of("dynamodb", "Scan") == []
    assert {params.get("IndexName") for params in aws_call_log.of("dynamodb", "Query")} == {"PendingPayments"}

    # And the payment worker charges it
    paused_shop.payments.drain()
    assert paused_shop.order_status(user, stuck) == "paid"
    assert paused_shop.order_status(user, fresh) == "pending_payment"


def test_the_sweep_sends_nothing_while_payment_dispatch_is_paused(paused_shop: Shop, dynamodb: Any) -> None:
    user = paused_shop.customer()
    order = paused_shop.place_order(user)
    age(paused_shop, dynamodb, user, order)

    report = paused_shop.invoke("maintenance", load_event("maintenance"))

    assert report["dispatch_paused"] is True
    assert report["requeued_order_ids"] == []
    assert paused_shop.payments.depth() == 0


def test_the_sweep_publishes_each_dead_letter_queue_depth_as_a_metric(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.sqs.send_message(QueueUrl=shop.env["PAYMENTS_DLQ_URL"], MessageBody="parked")
    shop.sqs.send_message(QueueUrl=shop.env["PAYMENTS_DLQ_URL"], MessageBody="parked too")

    report = shop.invoke("maintenance", load_event("maintenance"))

    assert report["dead_letter_depths"] == {"payments": 2, "notifications": 0}
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    depths = {doc["queue"]: doc["DeadLetterQueueDepth"] for doc in documents if "DeadLetterQueueDepth" in doc}
    assert depths == {"payments": [2.0], "notifications": [0.0]}
