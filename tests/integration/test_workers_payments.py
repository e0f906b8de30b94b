"""The payment worker against moto and the fake payment provider: one charge per order, whatever happens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.payments import FaultConfig, PaymentProvider
from shop.domain.retries import retry_delay_seconds
from tests.integration.worker_support import AwsCalls, Shop, SimulatedCrash
from tests.support.events import FakeLambdaContext

pytest_plugins = ["tests.integration.worker_fixtures"]


def charges_for(provider: PaymentProvider, order_id: str) -> list[dict[str, Any]]:
    """The provider's payment intents for one order, declined ones included."""
    intents: list[dict[str, Any]] = provider.intents()
    return [intent for intent in intents if intent["metadata"].get("order_id") == order_id]


def stored_order(shop: Shop, dynamodb: Any, user_id: str, order_id: str) -> dict[str, Any]:
    """The order's item as the table holds it, index keys included."""
    key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{order_id}"}}
    item = dynamodb.get_item(TableName=shop.env["TABLE_NAME"], Key=key, ConsistentRead=True)["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def retry_delays(aws_call_log: AwsCalls) -> list[int]:
    """The visibility timeouts the worker set; the test's own resets to 0 (time passing) left out."""
    return [
        params["VisibilityTimeout"]
        for params in aws_call_log.of("sqs", "ChangeMessageVisibility")
        if params["VisibilityTimeout"] > 0
    ]


def test_a_paid_order_is_charged_once_and_gets_one_receipt(
    shop: Shop, payment_provider: PaymentProvider, dynamodb: Any
) -> None:
    user = shop.customer()
    order = shop.place_order(user)

    [delivery] = shop.payments.drain()
    shop.notifications.drain()

    assert delivery.failed_ids == []
    assert shop.order_status(user, order) == "paid"
    [charge] = charges_for(payment_provider, order)
    assert (charge["status"], charge["amount"], charge["currency"]) == ("succeeded", 2800, "eur")
    assert shop.mail_to(shop.email_of(user)) == ["Welcome to the shop", f"Receipt for order {order}"]
    # The paid order left the PendingPayments index and moved to its status partition
    item = stored_order(shop, dynamodb, user, order)
    assert "gsi2pk" not in item
    assert "gsi2sk" not in item
    assert (item["gsi1pk"], item["payment_id"]) == (f"USER#{user}#paid", charge["id"])


def test_a_declined_card_fails_the_order_with_one_failure_email_and_no_retry(
    shop: Shop, payment_provider: PaymentProvider, aws_call_log: AwsCalls, dynamodb: Any
) -> None:
    user = shop.customer()
    order = shop.place_order(user, payment_method="pm_card_chargeDeclinedInsufficientFunds")

    [delivery] = shop.payments.drain()
    shop.notifications.drain()

    assert delivery.failed_ids == []
    assert retry_delays(aws_call_log) == []
    assert shop.order_status(user, order) == "payment_failed"
    assert stored_order(shop, dynamodb, user, order)["failure_code"] == "insufficient_funds"
    assert len(charges_for(payment_provider, order)) == 1
    assert shop.mail_to(shop.email_of(user))[1:] == [f"Payment failed for order {order}"]
    assert shop.payments.depth() == 0


def test_transient_faults_are_retried_with_growing_visibility_until_paid_with_one_charge(
    shop: Shop, payment_provider: PaymentProvider, aws_call_log: AwsCalls
) -> None:
    user = shop.customer()
    order = shop.place_order(user)

    # Given the provider answers a 500, then a 429, then hangs past the worker's read timeout
    for fault in (FaultConfig(error_rate=1), FaultConfig(rate_limit_rate=1), FaultConfig(hang_rate=1, hang_seconds=5)):
        payment_provider.set_faults(fault)
        delivery = shop.payments.poll()
        assert delivery is not None
        assert delivery.failed_ids == [delivery.messages[0]["MessageId"]]
        # The message is hidden for its backoff delay: nothing to receive until it passes.
        assert shop.payments.receive() == []
        shop.payments.let_time_pass(delivery)

    # When the provider recovers
    payment_provider.set_faults(FaultConfig())
    [delivery] = shop.payments.drain()

    # Then each retry waited at least as long as the one before, within its step of the schedule
    delays = retry_delays(aws_call_log)
    assert len(delays) == 3
    assert delays == sorted(delays)
    for receive_count, delay in enumerate(delays, start=1):
        assert (
            retry_delay_seconds(receive_count, lambda: 0.0) <= delay <= retry_delay_seconds(receive_count, lambda: 1.0)
        )
    assert delivery.failed_ids == []
    assert shop.order_status(user, order) == "paid"
    assert len(charges_for(payment_provider, order)) == 1


def test_the_same_message_delivered_twice_charges_once_and_emails_once(
    shop: Shop, payment_provider: PaymentProvider
) -> None:
    user = shop.customer()
    order = shop.place_order(user)
    messages = shop.payments.receive()

    shop.payments.deliver(messages)
    shop.payments.deliver(messages)
    shop.notifications.drain()

    assert shop.order_status(user, order) == "paid"
    assert len(charges_for(payment_provider, order)) == 1
    assert shop.mail_to(shop.email_of(user)).count(f"Receipt for order {order}") == 1


def test_a_crash_after_the_charge_is_completed_by_the_redelivery_without_a_second_charge(
    shop: Shop, payment_provider: PaymentProvider, aws_call_log: AwsCalls, load_handler: Any
) -> None:
    user = shop.customer()
    order = shop.place_order(user)
    # Given the worker dies just as it writes `paid`, after the provider charged the card
    aws_call_log.crash(
        "dynamodb",
        "UpdateItem",
        when=lambda params: params.get("ExpressionAttributeValues", {}).get(":status") == {"S": "paid"},
    )
    messages = shop.payments.receive()
    with pytest.raises(SimulatedCrash):
        shop.payments.deliver(messages)
    assert shop.order_status(user, order) == "pending_payment"
    assert len(charges_for(payment_provider, order)) == 1

    # When the message comes back, to a new worker process, after its visibility timeout
    shop.sqs.change_message_visibility(
        QueueUrl=shop.payments.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    [redelivered] = shop.payments.receive()
    fresh_worker = load_handler("payment_worker")
    response = fresh_worker.handler(shop.payments.event_for([redelivered]), FakeLambdaContext())

    # Then the order is paid by the provider's replay of the first charge
    assert response == {"batchItemFailures": []}
    assert shop.order_status(user, order) == "paid"
    assert len(charges_for(payment_provider, order)) == 1
    assert [job["kind"] for job in shop.email_jobs() if job.get("order_id") == order] == ["receipt"]


def test_only_the_failed_messages_of_a_batch_are_reported(
    shop: Shop, payment_provider: PaymentProvider, aws_call_log: AwsCalls
) -> None:
    user = shop.customer()
    orders = [shop.place_order(user) for _ in range(3)]
    # Given the table throttles the charge claim of the second order only
    aws_call_log.fail(
        "dynamodb",
        "UpdateItem",
        code="ProvisionedThroughputExceededException",
        status=400,
        when=lambda params: params["Key"]["sk"] == {"S": f"ORDER#{orders[1]}"},
    )

    delivery = shop.payments.poll()

    assert delivery is not None
    assert len(delivery.messages) == 3
    [failed] = [m["MessageId"] for m in delivery.messages if json.loads(m["Body"])["order_id"] == orders[1]]
    assert delivery.failed_ids == [failed]
    assert [shop.order_status(user, order) for order in orders] == ["paid", "pending_payment", "paid"]
    assert shop.payments.depth() == 1


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(
    shop: Shop, payment_provider: PaymentProvider
) -> None:
    user = shop.customer()
    order = shop.place_order(user)
    payment_provider.set_faults(FaultConfig(error_rate=1))

    # Each of the redrive policy's 8 receives fails; the 9th receive moves the message on
    for _ in range(8):
        delivery = shop.payments.poll()
        assert delivery is not None
        assert len(delivery.failed_ids) == 1
        shop.payments.let_time_pass(delivery)

    assert shop.payments.poll() is None
    [parked] = shop.dead_letters("payments")
    assert json.loads(parked["Body"])["order_id"] == order
    assert shop.order_status(user, order) == "pending_payment"
    assert charges_for(payment_provider, order) == []


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON",
        '{"version": 1, "type": "refund_order", "order_id": "o", "user_id": "u", "correlation_id": "c"}',
        '{"version": 7, "type": "charge_order", "order_id": "o", "user_id": "u", "correlation_id": "c"}',
        '{"version": 1, "type": "charge_order", "order_id": "o", "correlation_id": "c"}',
    ],
    ids=["not-json", "unknown-type", "unknown-version", "schema-failure"],
)
def test_a_poison_message_goes_to_the_dead_letter_queue_at_once(shop: Shop, aws_call_log: AwsCalls, body: str) -> None:
    shop.sqs.send_message(QueueUrl=shop.payments.queue_url, MessageBody=body)

    [delivery] = shop.payments.drain()

    assert delivery.failed_ids == []
    assert aws_call_log.of("sqs", "ChangeMessageVisibility") == []
    assert shop.payments.depth() == 0
    [parked] = shop.dead_letters("payments")
    assert parked["Body"] == body
    assert parked["MessageAttributes"]["dead_letter_reason"]["StringValue"].startswith("PoisonMessage: ")


def test_a_refused_api_key_parks_the_job_as_a_configuration_fault(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a provider that accepts only a key the stack's secret does not hold
    with PaymentProvider(port=0, api_key="sk_test_the_real_key") as strict_provider:
        monkeypatch.setenv("PAYMENT_API_BASE_URL", strict_provider.url)
        user = shop.customer()
        order = shop.place_order(user)

        [delivery] = shop.payments.drain()

        assert strict_provider.intents() == []
    assert delivery.failed_ids == []
    [parked] = shop.dead_letters("payments")
    assert "AuthenticationError" in parked["MessageAttributes"]["dead_letter_reason"]["StringValue"]
    assert shop.order_status(user, order) == "pending_payment"
    assert '"ConfigurationFault"' in capsys.readouterr().out
