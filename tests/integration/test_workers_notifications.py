"""The notification worker against moto: SES v2 email once per (user or order, kind), order events on SNS."""

from __future__ import annotations

import json
from typing import Any

import boto3

from localcloud.payments import PaymentProvider
from shop.adapters.email_ledger import marker_sort_key
from shop.domain.jobs import SendEmail, serialize_job
from shop.service_layer.ports import EmailKey
from tests.integration.worker_support import AwsCalls, Shop

pytest_plugins = ["tests.integration.worker_fixtures"]


def test_registering_queues_a_welcome_email_that_is_sent_once(shop: Shop) -> None:
    user = shop.customer()

    [delivery] = shop.notifications.drain()

    assert delivery.failed_ids == []
    assert shop.mail_to(shop.email_of(user)) == ["Welcome to the shop"]


def test_an_ses_failure_is_retried_and_the_email_is_still_sent_once(shop: Shop, aws_call_log: AwsCalls) -> None:
    user = shop.customer()
    # Given SES throttles the first send
    aws_call_log.fail("sesv2", "SendEmail", code="TooManyRequestsException", status=429)

    first = shop.notifications.poll()
    assert first is not None
    assert first.failed_ids == [first.messages[0]["MessageId"]]
    assert shop.mail_to(shop.email_of(user)) == []

    # When the retry delay has passed
    shop.notifications.let_time_pass(first)
    [retry] = shop.notifications.drain()

    # Then the email went out once, and a further duplicate of the job sends nothing
    assert retry.failed_ids == []
    shop.notifications.deliver(first.messages)
    assert shop.mail_to(shop.email_of(user)) == ["Welcome to the shop"]
    assert len(aws_call_log.of("sesv2", "SendEmail")) == 2


def test_a_send_with_no_answer_is_not_repeated_until_its_claim_lapses_then_goes_out_once(
    shop: Shop, aws_call_log: AwsCalls, dynamodb: Any
) -> None:
    user = shop.customer()
    # Given SES took the request and never answered
    aws_call_log.time_out("sesv2", "SendEmail")
    first = shop.notifications.poll()
    assert first is not None
    assert first.failed_ids == [first.messages[0]["MessageId"]]

    # When the job comes back while the claim is live, nothing is sent
    shop.notifications.let_time_pass(first)
    second = shop.notifications.poll()
    assert second is not None
    assert second.failed_ids == [second.messages[0]["MessageId"]]
    assert len(aws_call_log.of("sesv2", "SendEmail")) == 1

    # Then once the claim's lease has lapsed, the next delivery takes it over and sends
    dynamodb.update_item(
        TableName=shop.env["TABLE_NAME"],
        Key={"pk": {"S": f"USER#{user}"}, "sk": {"S": marker_sort_key(EmailKey(user_id=user, kind="welcome"))}},
        UpdateExpression="SET claimed_at = :long_ago",
        ExpressionAttributeValues={":long_ago": {"S": "2026-01-01T00:00:00.000Z"}},
    )
    shop.notifications.let_time_pass(second)
    [third] = shop.notifications.drain()
    assert third.failed_ids == []
    assert shop.mail_to(shop.email_of(user)) == ["Welcome to the shop"]
    assert len(aws_call_log.of("sesv2", "SendEmail")) == 2


def test_order_events_reach_only_the_subscriber_whose_filter_matches_in_one_publish_batch(
    shop: Shop, payment_provider: PaymentProvider, aws_call_log: AwsCalls
) -> None:
    # Given a subscriber that follows one customer's orders only
    alice, bob = shop.customer(), shop.customer()
    topic = shop.env["ORDER_EVENTS_TOPIC_ARN"]
    inbox = shop.sqs.create_queue(QueueName="alice-order-events")["QueueUrl"]
    inbox_arn = shop.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = boto3.client("sns", region_name="us-east-1")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"FilterPolicy": json.dumps({"user_id": [alice]}), "RawMessageDelivery": "true"},
    )
    paid = shop.place_order(alice)
    declined = shop.place_order(alice, payment_method="pm_card_chargeDeclined")
    shop.place_order(bob)

    # When the orders are charged and their emails sent
    shop.payments.drain()
    shop.notifications.drain()

    # Then the subscriber saw exactly Alice's two status changes
    received = shop.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    events = {(event["order_id"], event["event_type"]) for event in (json.loads(m["Body"]) for m in received)}
    assert events == {(paid, "order.paid"), (declined, "order.payment_failed")}
    assert len(received) == 2
    assert aws_call_log.of("sns", "PublishBatch")


def test_a_receipt_for_an_order_that_does_not_exist_goes_to_the_dead_letter_queue(shop: Shop) -> None:
    user = shop.customer()
    shop.notifications.drain()
    body = serialize_job(SendEmail(kind="receipt", user_id=user, order_id="01NOSUCHORDER", correlation_id="c"))
    shop.sqs.send_message(QueueUrl=shop.notifications.queue_url, MessageBody=body)

    [delivery] = shop.notifications.drain()

    assert delivery.failed_ids == []
    [parked] = shop.dead_letters("notifications")
    assert "does not exist" in parked["MessageAttributes"]["dead_letter_reason"]["StringValue"]
    assert shop.mail_to(shop.email_of(user)) == ["Welcome to the shop"]
