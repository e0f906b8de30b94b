"""SQS event source mappings against moto: batching, deletion, partial failures, redelivery and the DLQ."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest

from localcloud.spec import SqsEventSpec, StackSpec
from localcloud.sqs_source import SqsEventSource, SqsPoller, batch_item_failures, concurrency_limit
from tests.localcloud.in_process_invoker import Handler, InProcessInvoker
from tests.localcloud.spec_builders import REGION, function_spec, stack_of

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


def wait_until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.05)


def bodies(event: Any) -> list[str]:
    return [record["body"] for record in event["Records"]]


@pytest.fixture
def sqs(moto_endpoint: str) -> SQSClient:
    return boto3.client(
        "sqs", endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def make_queue(sqs: SQSClient) -> Callable[..., Queue]:
    def make(*, visibility_timeout_s: int = 30, dead_letter: Queue | None = None, fifo: bool = False) -> Queue:
        name = f"q-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attributes: dict[QueueAttributeNameType, str] = {"VisibilityTimeout": str(visibility_timeout_s)}
        if dead_letter is not None:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": 2})
        if fifo:
            attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Queue(url, arn)

    return make


@pytest.fixture
def start_source(moto_endpoint: str) -> Iterator[Callable[[StackSpec, InProcessInvoker], SqsEventSource]]:
    started: list[SqsEventSource] = []

    def start(stack: StackSpec, invoker: InProcessInvoker) -> SqsEventSource:
        source = SqsEventSource(stack, invoker, moto_endpoint, poll_wait_s=1)
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop()


@pytest.fixture
def run_mapping(
    start_source: Callable[[StackSpec, InProcessInvoker], SqsEventSource],
) -> Callable[..., InProcessInvoker]:
    """Starts polling one queue for a function named Consumer with the given handler."""

    def run(queue: Queue, handler: Handler, **mapping_options: Any) -> InProcessInvoker:
        mapping = SqsEventSpec(queue_arn=queue.arn, queue_url=queue.url, **mapping_options)
        invoker = InProcessInvoker({"Consumer": handler})
        start_source(stack_of(function_spec("Consumer", sqs_events=(mapping,))), invoker)
        return invoker

    return run


def queue_counts(sqs: SQSClient, queue: Queue) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def send(sqs: SQSClient, queue: Queue, *messages: str) -> None:
    for body in messages:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)


def test_successful_batch_is_deleted(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue()
    send(sqs, queue, "a", "b")

    # When
    invoker = run_mapping(queue, lambda event: None)
    wait_until(lambda: sum(len(bodies(event)) for event in invoker.calls_to("Consumer")) == 2)

    # Then
    wait_until(lambda: queue_counts(sqs, queue) == (0, 0))


def test_batch_size_is_honoured(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue()
    send(sqs, queue, *[f"m{index}" for index in range(7)])

    # When
    invoker = run_mapping(queue, lambda event: None, batch_size=3, maximum_batching_window_s=1)
    wait_until(lambda: sum(len(bodies(event)) for event in invoker.calls_to("Consumer")) == 7)

    # Then
    sizes = [len(bodies(event)) for event in invoker.calls_to("Consumer")]
    assert sizes == [3, 3, 1]


def test_batching_window_gathers_messages_sent_after_the_first(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue()
    invoker = run_mapping(queue, lambda event: None, batch_size=3, maximum_batching_window_s=5)
    send(sqs, queue, "first")
    wait_until(lambda: queue_counts(sqs, queue) == (0, 1))

    # When
    send(sqs, queue, "second", "third")
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 1)

    # Then
    [event] = invoker.calls_to("Consumer")
    assert sorted(bodies(event)) == ["first", "second", "third"]


def test_without_a_batching_window_the_first_receive_is_delivered(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue()
    invoker = run_mapping(queue, lambda event: None, batch_size=3, maximum_batching_window_s=0)
    send(sqs, queue, "first")
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 1)

    # When
    send(sqs, queue, "second", "third")
    wait_until(lambda: sum(len(bodies(event)) for event in invoker.calls_to("Consumer")) == 3)

    # Then
    assert bodies(invoker.calls_to("Consumer")[0]) == ["first"]


def test_reported_batch_item_failures_are_redelivered_alone(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue(visibility_timeout_s=1)
    send(sqs, queue, "good-1", "bad", "good-2")

    def handler(event: Any) -> dict[str, Any]:
        if len(event["Records"]) == 1:
            return {"batchItemFailures": []}
        failed = [record["messageId"] for record in event["Records"] if record["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    # When
    invoker = run_mapping(queue, handler, report_batch_item_failures=True)
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 2)

    # Then
    first, second = invoker.calls_to("Consumer")
    assert sorted(bodies(first)) == ["bad", "good-1", "good-2"]
    assert bodies(second) == ["bad"]
    assert second["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    wait_until(lambda: queue_counts(sqs, queue) == (0, 0))


def test_failed_invocation_leaves_the_whole_batch_for_redelivery(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue(visibility_timeout_s=1)
    send(sqs, queue, "a", "b")
    attempts: list[int] = []

    def handler(event: Any) -> None:
        attempts.append(len(event["Records"]))
        if len(attempts) == 1:
            raise RuntimeError("downstream unavailable")

    # When
    invoker = run_mapping(queue, handler)
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 2)

    # Then
    first, second = invoker.calls_to("Consumer")
    assert sorted(bodies(first)) == sorted(bodies(second)) == ["a", "b"]
    assert {record["attributes"]["ApproximateReceiveCount"] for record in second["Records"]} == {"2"}
    wait_until(lambda: queue_counts(sqs, queue) == (0, 0))


def test_message_failing_max_receive_count_times_moves_to_the_dead_letter_queue(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    dead_letter = make_queue()
    queue = make_queue(visibility_timeout_s=1, dead_letter=dead_letter)
    send(sqs, queue, "poison")

    def handler(event: Any) -> None:
        raise ValueError("cannot process")

    # When
    invoker = run_mapping(queue, handler)
    wait_until(lambda: queue_counts(sqs, dead_letter) == (1, 0))

    # Then
    assert len(invoker.calls_to("Consumer")) == 2
    assert queue_counts(sqs, queue) == (0, 0)
    [message] = sqs.receive_message(QueueUrl=dead_letter.url)["Messages"]
    assert message["Body"] == "poison"


def test_event_has_lambdas_sqs_shape(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue()
    sent = sqs.send_message(
        QueueUrl=queue.url,
        MessageBody='{"order": 1}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "created"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    # When
    invoker = run_mapping(queue, lambda event: None)
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 1)

    # Then
    [event] = invoker.calls_to("Consumer")
    [record] = event["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["receiptHandle"]
    assert record["body"] == '{"order": 1}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", queue.arn, REGION)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= record["attributes"].keys()
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "created", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "count": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


def test_fifo_records_carry_group_and_sequence_attributes(
    sqs: SQSClient, make_queue: Callable[..., Queue], run_mapping: Callable[..., InProcessInvoker]
) -> None:
    # Given
    queue = make_queue(fifo=True)
    sqs.send_message(QueueUrl=queue.url, MessageBody="first", MessageGroupId="order-1", MessageDeduplicationId="d-1")

    # When
    invoker = run_mapping(queue, lambda event: None)
    wait_until(lambda: len(invoker.calls_to("Consumer")) == 1)

    # Then
    attributes = invoker.calls_to("Consumer")[0]["Records"][0]["attributes"]
    assert (attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == ("order-1", "d-1")
    assert attributes["SequenceNumber"]


def test_disabled_mapping_is_not_polled(
    sqs: SQSClient,
    make_queue: Callable[..., Queue],
    start_source: Callable[[StackSpec, InProcessInvoker], SqsEventSource],
) -> None:
    # Given
    disabled_queue, witness_queue = make_queue(), make_queue()
    send(sqs, disabled_queue, "ignored")
    send(sqs, witness_queue, "seen")
    stack = stack_of(
        function_spec("Disabled", sqs_events=(SqsEventSpec(disabled_queue.arn, disabled_queue.url, enabled=False),)),
        function_spec("Witness", sqs_events=(SqsEventSpec(witness_queue.arn, witness_queue.url),)),
    )
    invoker = InProcessInvoker({"Disabled": lambda event: None, "Witness": lambda event: None})

    # When
    start_source(stack, invoker)
    wait_until(lambda: queue_counts(sqs, witness_queue) == (0, 0))

    # Then
    assert invoker.calls_to("Disabled") == []
    assert queue_counts(sqs, disabled_queue) == (1, 0)


def test_poller_survives_a_queue_that_does_not_exist_yet(
    sqs: SQSClient,
    make_queue: Callable[..., Queue],
    run_mapping: Callable[..., InProcessInvoker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given
    existing = make_queue()
    name = f"late-{uuid.uuid4().hex[:12]}"
    late = Queue(existing.url.rsplit("/", 1)[0] + f"/{name}", existing.arn.rsplit(":", 1)[0] + f":{name}")
    with caplog.at_level(logging.INFO, logger="localcloud.sqs_source"):
        invoker = run_mapping(late, lambda event: None)
        wait_until(lambda: any(record.levelno == logging.WARNING for record in caplog.records))

        # When
        sqs.create_queue(QueueName=name)
        send(sqs, late, "finally")
        wait_until(lambda: len(invoker.calls_to("Consumer")) == 1)

    # Then
    assert bodies(invoker.calls_to("Consumer")[0]) == ["finally"]
    assert "recovered" in caplog.text


class ScriptedReceives:
    """Stands in for the SQS client: each receive_message returns the next scripted messages."""

    def __init__(self, *receives: list[dict[str, str]]) -> None:
        self._receives = list(receives)

    def receive_message(self, **request: Any) -> dict[str, Any]:
        return {"Messages": self._receives.pop(0)} if self._receives else {}


def test_message_received_twice_within_the_window_is_batched_once_with_its_latest_handle() -> None:
    # Given
    def message(message_id: str, receipt_handle: str) -> dict[str, str]:
        return {"MessageId": message_id, "ReceiptHandle": receipt_handle, "Body": message_id, "MD5OfBody": ""}

    client = ScriptedReceives([message("m1", "h1")], [message("m1", "h2")], [message("m2", "h3")])
    mapping = SqsEventSpec(
        "arn:aws:sqs:eu-west-1:123456789012:q", "http://sqs/q", batch_size=2, maximum_batching_window_s=5
    )
    poller = SqsPoller(
        function_spec("Consumer"),
        mapping,
        invoker=InProcessInvoker({}),
        client=cast("SQSClient", client),
        region=REGION,
        stop=threading.Event(),
        poll_wait_s=0,
    )

    # When
    batch = poller.collect_batch()

    # Then
    assert [(item["MessageId"], item["ReceiptHandle"]) for item in batch] == [("m1", "h2"), ("m2", "h3")]


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m1"}]}, None),
        ({"batchItemFailures": "m1"}, None),
        ("not an object", None),
    ],
)
def test_batch_item_failures_follow_lambdas_rules(payload: object, failed: set[str] | None) -> None:
    # When
    reported = batch_item_failures(payload, ["m1", "m2"])

    # Then
    assert reported == failed


class ConcurrencyProbe:
    """A handler that holds each batch until released, recording how many batches run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.delivered: list[str] = []
        self.release = threading.Event()

    def __call__(self, event: object) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(10)
        with self._lock:
            self.running -= 1
            self.delivered += bodies(event)


def test_concurrent_batches_grow_with_the_backlog_up_to_the_maximum_concurrency(
    sqs: SQSClient,
    make_queue: Callable[..., Queue],
    start_source: Callable[[StackSpec, InProcessInvoker], SqsEventSource],
) -> None:
    # Given a backlog of 30 messages and a mapping of batch size 1 capped at 3 concurrent batches
    queue = make_queue()
    send(sqs, queue, *(f"m{index}" for index in range(30)))
    probe = ConcurrencyProbe()
    mapping = SqsEventSpec(queue_arn=queue.arn, queue_url=queue.url, batch_size=1, maximum_concurrency=3)
    source = start_source(
        stack_of(function_spec("Consumer", sqs_events=(mapping,))), InProcessInvoker({"Consumer": probe})
    )

    # When the pollers scale out while every batch is held
    wait_until(lambda: probe.running == 3)
    time.sleep(0.5)
    probe.release.set()

    # Then three batches ran at once, never more, and every message was delivered once
    wait_until(lambda: len(probe.delivered) == 30)
    assert probe.peak == 3
    assert sorted(probe.delivered) == sorted(f"m{index}" for index in range(30))
    # And once the queue is empty the mapping shrinks back to its first poller
    wait_until(lambda: list(source.poller_counts().values()) == [1])


def test_the_functions_reserved_concurrency_caps_its_mappings_batches(
    sqs: SQSClient,
    make_queue: Callable[..., Queue],
    start_source: Callable[[StackSpec, InProcessInvoker], SqsEventSource],
) -> None:
    # Given a function with a reserved concurrency of 2 and a backlog
    queue = make_queue()
    send(sqs, queue, *(f"m{index}" for index in range(12)))
    probe = ConcurrencyProbe()
    mapping = SqsEventSpec(queue_arn=queue.arn, queue_url=queue.url, batch_size=1)
    function = dataclasses.replace(function_spec("Consumer", sqs_events=(mapping,)), reserved_concurrency=2)
    start_source(stack_of(function), InProcessInvoker({"Consumer": probe}))

    # When every batch is held for a moment
    wait_until(lambda: probe.running == 2)
    time.sleep(0.5)
    probe.release.set()

    # Then no more than two ran at once
    wait_until(lambda: len(probe.delivered) == 12)
    assert probe.peak == 2


@pytest.mark.parametrize(
    ("maximum", "reserved", "limit"),
    [(None, None, 10), (5, None, 5), (None, 3, 3), (5, 3, 3), (2, 8, 2), (None, 0, 1)],
)
def test_a_mappings_concurrency_is_the_lowest_of_its_caps(
    maximum: int | None, reserved: int | None, limit: int
) -> None:
    mapping = SqsEventSpec(
        queue_arn="arn:aws:sqs:eu-west-1:123456789012:q", queue_url="http://q", maximum_concurrency=maximum
    )
    function = dataclasses.replace(function_spec("Consumer"), reserved_concurrency=reserved)

    assert concurrency_limit(function, mapping, default=10) == limit
