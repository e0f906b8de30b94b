"""A worker's record handler: poison and configuration faults parked at once, transient faults backed off."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shop.domain.jobs import ChargeOrder, serialize_job
from shop.errors import Misconfigured, Unavailable
from shop.service_layer.queue_worker import QueueWorker, RetryLater
from tests.support.events import FakeLambdaContext
from tests.support.sqs_events import sqs_event, sqs_message
from tests.unit.fakes_pipeline import RecordingRedelivery

CHARGE = ChargeOrder(order_id="01ORDER000000000000000000A", user_id="01USER0000000000000000000A", correlation_id="c-1")


def record(body: str, receive_count: int = 1) -> SQSRecord:
    message = sqs_message(body, receive_count=receive_count, attributes={"job_type": "charge_order"})
    return SQSRecord(sqs_event("payment_worker", [message])["Records"][0])


class ShortOnTime(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 1_000


@pytest.fixture
def redelivery() -> RecordingRedelivery:
    return RecordingRedelivery()


@pytest.fixture
def make_worker(
    redelivery: RecordingRedelivery,
) -> Callable[[Callable[[ChargeOrder], Any]], QueueWorker[ChargeOrder, Any]]:
    def make(perform: Callable[[ChargeOrder], Any]) -> QueueWorker[ChargeOrder, Any]:
        return QueueWorker(ChargeOrder, perform, redelivery, time_needed_ms=5_000, delay=lambda count: 10 * count)

    return make


def test_a_job_is_performed_and_its_result_returned(make_worker: Callable[..., QueueWorker[ChargeOrder, Any]]) -> None:
    performed: list[ChargeOrder] = []

    def perform(job: ChargeOrder) -> str:
        performed.append(job)
        return "done"

    worker = make_worker(perform)

    assert worker.handle(record(serialize_job(CHARGE)), FakeLambdaContext()) == "done"
    assert performed == [CHARGE]


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps({**json.loads(serialize_job(CHARGE)), "type": "refund_order"}),
        json.dumps({**json.loads(serialize_job(CHARGE)), "version": 2}),
        json.dumps({k: v for k, v in json.loads(serialize_job(CHARGE)).items() if k != "user_id"}),
        json.dumps({"version": 1, "type": "send_email", "kind": "welcome", "user_id": "u", "correlation_id": "c"}),
        json.dumps({"version": 1, "type": "send_email", "kind": "receipt", "user_id": "u", "correlation_id": "c"}),
    ],
    ids=["not-json", "unknown-type", "unknown-version", "schema-failure", "wrong-queue", "receipt-without-order"],
)
def test_a_poison_message_goes_to_the_dead_letter_queue_at_once_with_its_reason(
    body: str, make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    performed: list[ChargeOrder] = []
    worker = make_worker(performed.append)

    assert worker.handle(record(body)) is None

    assert performed == []
    assert redelivery.retries == []
    [(parked, reason)] = redelivery.dead_letters
    assert parked.body == body
    assert parked.attributes == {"job_type": "charge_order"}
    assert reason.startswith("PoisonMessage: ")


def test_a_transient_failure_hides_the_message_for_the_delay_of_its_receive_count_and_fails_the_record(
    make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    def down(job: ChargeOrder) -> None:
        raise Unavailable("provider down")

    worker = make_worker(down)
    message = record(serialize_job(CHARGE), receive_count=3)

    with pytest.raises(RetryLater):
        worker.handle(message)

    assert redelivery.retries == [(message.message_id, 30)]
    assert redelivery.dead_letters == []


def test_a_configuration_fault_is_parked_rather_than_retried(
    make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    def refused(job: ChargeOrder) -> None:
        raise Misconfigured("the payment provider refused our key")

    assert make_worker(refused).handle(record(serialize_job(CHARGE))) is None

    assert redelivery.retries == []
    assert [reason for _, reason in redelivery.dead_letters] == ["Misconfigured: the payment provider refused our key"]


def test_a_message_that_cannot_be_parked_is_retried_instead_of_lost(
    make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    redelivery.dead_letter_queue_down = True

    with pytest.raises(RetryLater):
        make_worker(print).handle(record("not json"))

    assert len(redelivery.retries) == 1


def test_a_job_is_not_started_when_the_invocation_has_too_little_time_left(
    make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    performed: list[ChargeOrder] = []

    with pytest.raises(RetryLater):
        make_worker(performed.append).handle(record(serialize_job(CHARGE)), ShortOnTime())

    assert performed == []
    assert len(redelivery.retries) == 1


def test_an_unexpected_error_fails_the_record_and_leaves_it_to_the_redrive_policy(
    make_worker: Callable[..., QueueWorker[ChargeOrder, Any]], redelivery: RecordingRedelivery
) -> None:
    def broken(job: ChargeOrder) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        make_worker(broken).handle(record(serialize_job(CHARGE)))

    assert redelivery.retries == []
    assert redelivery.dead_letters == []
