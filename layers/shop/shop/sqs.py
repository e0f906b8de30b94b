"""The SQS adapter of the JobQueue port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.errors import Unavailable
from shop.jobs import ChargeOrder, SendEmail, serialize_job

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    """Sends jobs to one queue, with the job type as a message attribute for filtering and triage."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, job: ChargeOrder | SendEmail) -> None:
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
