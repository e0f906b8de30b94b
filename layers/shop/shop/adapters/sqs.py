"""SQS adapters: the JobQueue port, a worker's redelivery control and queue depths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.domain.jobs import AnyJob, serialize_job
from shop.errors import Unavailable
from shop.observability import logger
from shop.service_layer.ports import ReceivedMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# SQS caps a message attribute value with the rest of the message; a reason needs far less.
_MAX_REASON_LENGTH = 1024


class SqsJobQueue:
    """Sends jobs to one queue, with the job type as a message attribute for filtering and triage."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, job: AnyJob) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=serialize_job(job),
                MessageAttributes={
                    "job_type": {"DataType": "String", "StringValue": job.type},
                    "correlation_id": {"DataType": "String", "StringValue": job.correlation_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"the queue refused a {job.type} job") from exc


class SqsRedelivery:
    """Backs off a worker's messages on its queue and parks the hopeless ones in its dead-letter queue."""

    def __init__(self, client: SQSClient, queue_url: str, dead_letter_queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._dead_letter_queue_url = dead_letter_queue_url

    def retry_after(self, message: ReceivedMessage, seconds: int) -> None:
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=seconds
            )
        except (ClientError, BotoCoreError):
            # The message still comes back, after the queue's own visibility timeout instead.
            logger.warning("could not set the retry delay", extra={"message_id": message.message_id}, exc_info=True)

    def dead_letter(self, message: ReceivedMessage, reason: str) -> None:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()
        }
        attributes["dead_letter_reason"] = {"DataType": "String", "StringValue": reason[:_MAX_REASON_LENGTH]}
        attributes["source_message_id"] = {"DataType": "String", "StringValue": message.message_id}
        try:
            self._client.send_message(
                QueueUrl=self._dead_letter_queue_url, MessageBody=message.body, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the dead-letter queue refused the message") from exc


class SqsQueueMonitor:
    """Reads how many messages wait in a queue."""

    def __init__(self, client: SQSClient) -> None:
        self._client = client

    def visible_messages(self, queue_url: str) -> int:
        try:
            response = self._client.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the queue's depth cannot be read") from exc
        return int(response["Attributes"]["ApproximateNumberOfMessages"])
