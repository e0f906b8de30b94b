"""The scheduled maintenance sweep against moto: stuck orders re-dispatched once, dead-letter depths reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shop.domain.clock import isoformat
from tests.integration.worker_support import AwsCalls, Shop
from tests.support.catalog import stock_of
from tests.support.events import load_event

pytest_plugins = ["tests.integration.worker_fixtures"]


@pytest.fixture
def paused_shop(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """Orders are accepted but no payment job is sent: the state the sweep exists for."""
    monkeypatch.setenv("PAUSE_PAYMENT_DISPATCH", "true")
    return shop


def age(shop: Shop, dynamodb: Any, user_id: str, order_id: str, minutes: int = 20) -> None:
    """Make the order older (past the 15-minute stuck threshold, inside the hour's hold), as if it had been waiting."""
    then = isoformat(datetime.now(UTC) - timedelta(minutes=minutes))
    dynamodb.update_item(
        TableName=shop.env["TABLE_NAME"],
        Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{order_id}"}},
        UpdateExpression="SET created_at = :then, updated_at = :then, gsi2sk = :then",
        ExpressionAttributeValues={":then": {"S": then}},
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


def test_an_order_never_paid_past_the_hold_is_cancelled_once_with_its_units_back_and_its_email_queued(
    paused_shop: Shop, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an order placed two hours ago (past the one-hour hold) whose payment job never ran
    user = paused_shop.customer()
    order = paused_shop.place_order(user)
    age(paused_shop, dynamodb, user, order, minutes=120)
    table = paused_shop.env["TABLE_NAME"]
    before = stock_of(dynamodb, table, "BOOK-001")

    # When the sweep runs twice
    monkeypatch.setenv("PAUSE_PAYMENT_DISPATCH", "false")
    first = paused_shop.invoke("maintenance", load_event("maintenance"))
    second = paused_shop.invoke("maintenance", load_event("maintenance"))

    # Then the first run cancelled it and released its units; nothing was sent for payment
    assert (first["abandoned_order_ids"], second["abandoned_order_ids"]) == ([order], [])
    assert paused_shop.order_status(user, order) == "cancelled"
    assert stock_of(dynamodb, table, "BOOK-001") == before + 2
    assert paused_shop.payments.depth() == 0
    assert [(job["kind"], job["order_id"]) for job in paused_shop.email_jobs() if job.get("order_id")] == [
        ("order_cancelled", order)
    ]


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
