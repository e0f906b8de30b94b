"""Runs one queue message's job and gives each failure its treatment: retry later, or the dead-letter queue.

| failure                                              | treatment                                    |
|------------------------------------------------------|----------------------------------------------|
| `Unavailable` (a dependency down, throttled, slow)   | hidden for the backoff delay, then retried   |
| `PoisonMessage` (not JSON, unknown type or version,  | sent to the dead-letter queue at once, then  |
| failing its schema, naming nothing that exists)      | reported processed, so SQS deletes it        |
| `NeedsOperator` (a configuration fault, a charge to  | the same, counted under the error's metric,  |
| review)                                              | which an alarm watches                       |
| anything else (a bug)                                | logged and left to the queue's redrive       |

A retry is reported to Lambda as a batch item failure: the message stays in the queue, hidden
for the delay this worker set, and the redrive policy parks it after `maxReceiveCount` receives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shop.domain.jobs import AnyJob, parse_job
from shop.domain.retries import retry_delay_seconds
from shop.errors import DomainError, NeedsOperator, PoisonMessage, Unavailable
from shop.observability import logger, metrics
from shop.service_layer.ports import MessageRedelivery, ReceivedMessage


class InvocationDeadline(Protocol):
    """The part of Lambda's context object a worker reads: how long the invocation has left."""

    def get_remaining_time_in_millis(self) -> int: ...


class RetryLater(Exception):
    """Reported to Lambda as a batch item failure; the message comes back after its backoff delay."""


def received_message(record: SQSRecord) -> ReceivedMessage:
    """The parts of a Lambda SQS record a worker acts on."""
    attributes = {
        name: attribute.string_value
        for name, attribute in record.message_attributes.items()
        if attribute is not None and attribute.string_value is not None
    }
    return ReceivedMessage(
        message_id=record.message_id,
        body=record.body,
        receipt_handle=record.receipt_handle,
        receive_count=int(record.attributes.approximate_receive_count),
        attributes=attributes,
    )


class QueueWorker[J: AnyJob, R]:
    """The record handler of one queue: parses the job, performs it, and backs off or parks failures."""

    def __init__(
        self,
        # The payments queue carries two job types, given as a tuple.
        job_type: type[J] | tuple[type[J], ...],
        perform: Callable[[J], R],
        redelivery: MessageRedelivery,
        *,
        time_needed_ms: int,
        delay: Callable[[int], int] = retry_delay_seconds,
    ) -> None:
        self._job_type = job_type
        self._perform: Callable[[J], R] = perform
        self._redelivery = redelivery
        self._time_needed_ms = time_needed_ms
        self._delay = delay

    def handle(self, record: SQSRecord, lambda_context: InvocationDeadline | None = None) -> R | None:
        """Perform the record's job; None when the message was parked in the dead-letter queue."""
        message = received_message(record)
        with logger.append_context_keys(message_id=message.message_id, receive_count=message.receive_count):
            if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < self._time_needed_ms:
                # Starting a job that the function timeout would cut short gains nothing: a
                # timeout fails the whole batch, the finished records included.
                self._retry(message, "too little time left in this invocation to start the job")
            try:
                job = self._parse(message.body)
            except PoisonMessage as poison:
                self._park(message, poison, "PoisonMessage")
                return None
            with logger.append_context_keys(correlation_id=job.correlation_id, job_type=job.type):
                return self._perform_job(message, job)

    def retry_later(self, record: SQSRecord, reason: str) -> None:
        """Back off a message that the batch failed after its job was performed."""
        self._back_off(received_message(record), reason)

    def _parse(self, body: str) -> J:
        job = parse_job(body)
        if not isinstance(job, self._job_type):
            raise PoisonMessage(f"a {job.type} job does not belong on this queue")
        return job

    def _perform_job(self, message: ReceivedMessage, job: J) -> R | None:
        try:
            return self._perform(job)
        except PoisonMessage as poison:
            self._park(message, poison, "PoisonMessage")
        except NeedsOperator as fault:
            self._park(message, fault, fault.metric)
        except Unavailable as unavailable:
            self._retry(message, unavailable.detail, unavailable)
        except Exception:
            # The edge of one record: the processor reports it failed and the queue's redrive
            # policy decides; only here is what went wrong still known, so it is logged here.
            logger.exception("job failed unexpectedly")
            metrics.add_metric(name="JobFailed", unit="Count", value=1)
            raise
        return None

    def _retry(self, message: ReceivedMessage, reason: str, cause: Exception | None = None) -> NoReturn:
        delay = self._back_off(message, reason)
        raise RetryLater(f"retry in {delay} s: {reason}") from cause

    def _back_off(self, message: ReceivedMessage, reason: str) -> int:
        delay = self._delay(message.receive_count)
        self._redelivery.retry_after(message, delay)
        metrics.add_metric(name="JobRetried", unit="Count", value=1)
        logger.warning("retrying later", extra={"message_id": message.message_id, "reason": reason, "delay": delay})
        return delay

    def _park(self, message: ReceivedMessage, error: DomainError, metric: str) -> None:
        reason = f"{type(error).__name__}: {error.detail}"
        try:
            self._redelivery.dead_letter(message, reason)
        except Unavailable as unavailable:
            self._retry(message, unavailable.detail, unavailable)
        metrics.add_metric(name=metric, unit="Count", value=1)
        logger.error("message sent to the dead-letter queue", extra={"reason": reason})
