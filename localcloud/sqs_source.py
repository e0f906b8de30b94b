"""SQS event source mappings: poll queues and invoke functions with batches of messages, as Lambda does.

Each enabled mapping scales as Lambda's pollers do: one poller always, one more each time a poller
receives a batch while no other poller is waiting for messages (the queue has a backlog), up to
the mapping's ScalingConfig.MaximumConcurrency or the function's reserved concurrency, whichever
is lower (the runtime's warm pool size when neither is set); a poller beyond the first stops when
its receive finds the queue empty. Each poller runs one invocation at a time, so that is also the
mapping's concurrency. Failed messages are not deleted and not touched: they come back after their
visibility timeout, and the queue's redrive policy moves them to its dead-letter queue after
maxReceiveCount receives.
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.spec import FunctionSpec, Invocation, Invoker, SqsEventSpec, StackSpec

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

logger = logging.getLogger(__name__)

# SQS caps both: messages per ReceiveMessage and seconds of long polling.
_MAX_MESSAGES_PER_RECEIVE = 10
_DELETE_BATCH_SIZE = 10
_ERROR_BACKOFF_S = 1.0
_EMPTY_SHORT_POLL_PAUSE_S = 0.1


class SqsEventSource:
    """Runs every enabled SQS event source mapping of a stack, with pollers that scale with each queue's backlog."""

    def __init__(
        self,
        stack: StackSpec,
        invoker: Invoker,
        endpoint_url: str,
        *,
        poll_wait_s: int = 1,
        default_concurrency: int = 10,
    ) -> None:
        if not 0 <= poll_wait_s <= 20:
            raise ValueError(f"poll_wait_s must be between 0 and 20 seconds, not {poll_wait_s}")
        if default_concurrency < 1:
            raise ValueError(f"default_concurrency must be at least 1, not {default_concurrency}")
        self._default_concurrency = default_concurrency
        self._stack = stack
        self._invoker = invoker
        self._endpoint_url = endpoint_url
        # Short long-polls keep stop() prompt; an idle poller costs one request per poll_wait_s.
        self._poll_wait_s = poll_wait_s
        self._stop = threading.Event()
        self._mappings: list[MappingPollers] = []

    def start(self) -> None:
        """Starts the first poller of each enabled mapping."""
        if self._mappings:
            raise RuntimeError("the SQS event source is already started")
        self._stop.clear()
        for function in self._stack.functions.values():
            for mapping in function.sqs_events:
                if not mapping.enabled:
                    logger.info("SQS mapping %s <- %s is disabled", function.logical_id, mapping.queue_arn)
                    continue
                pollers = MappingPollers(
                    function,
                    mapping,
                    concurrency_limit(function, mapping, self._default_concurrency),
                    invoker=self._invoker,
                    client=self._new_client(),
                    region=self._stack.region,
                    stop=self._stop,
                    poll_wait_s=self._poll_wait_s,
                )
                pollers.start()
                self._mappings.append(pollers)

    def stop(self) -> None:
        """Stops polling; batches being delivered finish first."""
        self._stop.set()
        for pollers in self._mappings:
            pollers.join()
        self._mappings = []

    def poller_counts(self) -> dict[str, int]:
        """How many pollers each mapping runs now, by `function <- queue ARN`."""
        return {f"{pollers.function_id} <- {pollers.queue_arn}": pollers.active for pollers in self._mappings}

    def _new_client(self) -> SQSClient:
        return boto3.client(
            "sqs",
            endpoint_url=self._endpoint_url,
            region_name=self._stack.region,
            aws_access_key_id="localcloud",
            aws_secret_access_key="localcloud",
        )


def concurrency_limit(function: FunctionSpec, mapping: SqsEventSpec, default: int) -> int:
    """The most batches of one mapping in flight at once: Lambda's MaximumConcurrency and reserved concurrency."""
    limits = [limit for limit in (mapping.maximum_concurrency, function.reserved_concurrency) if limit is not None]
    # A reserved concurrency of 0 throttles every invocation: one poller still receives, and the
    # throttled messages come back after their visibility timeout, as on Lambda.
    return max(1, min(limits)) if limits else default


class MappingPollers:
    """The poller threads of one mapping: the first always, more while the queue has a backlog, up to the limit."""

    def __init__(
        self,
        function: FunctionSpec,
        mapping: SqsEventSpec,
        limit: int,
        *,
        invoker: Invoker,
        client: SQSClient,
        region: str,
        stop: threading.Event,
        poll_wait_s: int,
    ) -> None:
        self.function_id = function.logical_id
        self.queue_arn = mapping.queue_arn
        self._limit = limit
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._active = 0
        self._receiving = 0
        # boto3 clients are thread-safe: the pollers of a mapping share one.
        self._new_poller = functools.partial(
            SqsPoller,
            function,
            mapping,
            invoker=invoker,
            client=client,
            region=region,
            stop=stop,
            poll_wait_s=poll_wait_s,
            pollers=self,
        )

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def start(self) -> None:
        with self._lock:
            self._spawn(first=True)

    @contextmanager
    def receiving(self) -> Iterator[None]:
        """While a poller waits for messages, it is one the mapping has to spare."""
        with self._lock:
            self._receiving += 1
        try:
            yield
        finally:
            with self._lock:
                self._receiving -= 1

    def grow(self) -> None:
        """One more poller when a batch came in while every other poller was busy with one, up to the limit."""
        with self._lock:
            if self._receiving == 0 and self._active < self._limit:
                self._spawn(first=False)

    def retire(self) -> None:
        """An extra poller found the queue empty and stops."""
        with self._lock:
            self._active -= 1

    def join(self) -> None:
        while True:
            with self._lock:
                running = [thread for thread in self._threads if thread.is_alive()]
                self._threads = running
            if not running:
                return
            for thread in running:
                thread.join()

    def _spawn(self, *, first: bool) -> None:
        poller = self._new_poller()
        thread = threading.Thread(
            target=poller.run, kwargs={"first": first}, name=f"sqs-poller-{self.function_id}", daemon=True
        )
        self._active += 1
        self._threads.append(thread)
        thread.start()


class SqsPoller:
    """Lambda's poller for one mapping: gathers a batch, invokes, deletes what succeeded."""

    def __init__(
        self,
        function: FunctionSpec,
        mapping: SqsEventSpec,
        *,
        invoker: Invoker,
        client: SQSClient,
        region: str,
        stop: threading.Event,
        poll_wait_s: int,
        pollers: MappingPollers | None = None,
    ) -> None:
        self._function = function
        self._mapping = mapping
        self._pollers = pollers
        self._invoker = invoker
        self._client = client
        self._region = region
        self._stop = stop
        self._poll_wait_s = poll_wait_s
        self._failing_with: str | None = None

    def run(self, *, first: bool = True) -> None:
        """Polls until the stop event is set; a poller that is not its mapping's first stops at an empty queue."""
        while not self._stop.is_set():
            try:
                batch = self._collect_as_one_of_the_pollers()
                if batch:
                    if self._pollers is not None:
                        self._pollers.grow()
                    self.deliver(batch)
                elif not first and self._pollers is not None:
                    self._pollers.retire()
                    return
            except (BotoCoreError, ClientError) as error:
                # A missing queue fails every second: say so once, not once a second.
                if str(error) != self._failing_with:
                    logger.warning(
                        "SQS poller of %s on %s: %s", self._function.logical_id, self._mapping.queue_url, error
                    )
                self._failing_with = str(error)
                self._stop.wait(_ERROR_BACKOFF_S)

    def _collect_as_one_of_the_pollers(self) -> list[MessageTypeDef]:
        if self._pollers is None:
            return self.collect_batch()
        with self._pollers.receiving():
            return self.collect_batch()

    def collect_batch(self) -> list[MessageTypeDef]:
        """Receives until batch_size messages or the batching window ends (window 0: the first non-empty receive).

        Empty when one receive finds the queue empty.
        """
        batch_size = self._mapping.batch_size
        # By message id: with a visibility timeout shorter than the window a message can come back
        # within the window, and only its latest receipt handle can delete it.
        messages: dict[str, MessageTypeDef] = {}
        window_ends_at: float | None = None
        while len(messages) < batch_size and not self._stop.is_set():
            remaining_s = float(self._poll_wait_s) if window_ends_at is None else window_ends_at - time.monotonic()
            if remaining_s <= 0 and window_ends_at is not None:
                break
            wait_s = min(self._poll_wait_s, int(remaining_s))
            received = self._receive(min(_MAX_MESSAGES_PER_RECEIVE, batch_size - len(messages)), wait_s)
            messages.update((message["MessageId"], message) for message in received)
            if window_ends_at is None and messages:
                if self._mapping.maximum_batching_window_s == 0:
                    break
                window_ends_at = time.monotonic() + self._mapping.maximum_batching_window_s
            if not received and wait_s == 0:
                # A short poll returns at once: pause so that an empty queue is not hammered.
                pause_s = (
                    _EMPTY_SHORT_POLL_PAUSE_S if window_ends_at is None else min(_EMPTY_SHORT_POLL_PAUSE_S, remaining_s)
                )
                self._stop.wait(pause_s)
            if not messages:
                # An empty queue: the caller polls again, or, if it is an extra poller, stops.
                break
        return list(messages.values())

    def deliver(self, messages: Sequence[MessageTypeDef]) -> Invocation:
        """Invokes the function with one batch and deletes the messages it processed."""
        event = {"Records": [sqs_record(message, self._mapping.queue_arn, self._region) for message in messages]}
        invocation = self._invoker.invoke(self._function.logical_id, event)
        failed_ids = self._failed_message_ids(invocation, [message["MessageId"] for message in messages])
        if failed_ids:
            logger.warning(
                "%s did not process %d of %d messages from %s; they return after their visibility timeout",
                self._function.logical_id,
                len(failed_ids),
                len(messages),
                self._mapping.queue_arn,
            )
        self._delete([message for message in messages if message["MessageId"] not in failed_ids])
        return invocation

    def _receive(self, max_messages: int, wait_s: int) -> list[MessageTypeDef]:
        response = self._client.receive_message(
            QueueUrl=self._mapping.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        if self._failing_with is not None:
            logger.info("SQS poller of %s on %s recovered", self._function.logical_id, self._mapping.queue_url)
            self._failing_with = None
        return list(response.get("Messages", []))

    def _failed_message_ids(self, invocation: Invocation, message_ids: list[str]) -> set[str]:
        if invocation.error is not None or invocation.timed_out or invocation.crashed:
            return set(message_ids)
        if not self._mapping.report_batch_item_failures:
            return set()
        reported = batch_item_failures(invocation.payload, message_ids)
        if reported is None:
            logger.warning(
                "%s returned an invalid batchItemFailures response; the whole batch counts as failed",
                self._function.logical_id,
            )
            return set(message_ids)
        return reported

    def _delete(self, messages: Sequence[MessageTypeDef]) -> None:
        for start in range(0, len(messages), _DELETE_BATCH_SIZE):
            chunk = messages[start : start + _DELETE_BATCH_SIZE]
            response = self._client.delete_message_batch(
                QueueUrl=self._mapping.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                logger.warning("could not delete a message from %s: %s", self._mapping.queue_url, failure)


def batch_item_failures(payload: object, message_ids: Sequence[str]) -> set[str] | None:
    """The message ids a partial batch response reports as failed; None when Lambda would reject the response."""
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed


def sqs_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda sends for a batch of SQS messages."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def _lambda_message_attribute(value: MessageAttributeValueOutputTypeDef | Mapping[str, Any]) -> dict[str, Any]:
    # Lambda spells SQS message attributes in camelCase and always includes both list fields.
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    attribute["dataType"] = value["DataType"]
    return attribute
