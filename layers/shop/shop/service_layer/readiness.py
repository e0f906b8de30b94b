"""Readiness: can this function reach the table and the queues it depends on?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.domain.models import Readiness

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


class ReadinessProbe:
    """Cheapest real call per dependency: a GetItem of an absent key, a queue attribute read."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, sqs: SQSClient, queue_urls: dict[str, str]) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._sqs = sqs
        self._queues = queue_urls

    def check(self) -> Readiness:
        checks = {"dynamodb": self._check_table()}
        for name, url in self._queues.items():
            checks[f"sqs:{name}"] = self._check_queue(url)
        status = "ready" if all(result == "ok" for result in checks.values()) else "unavailable"
        return Readiness(status=status, checks=checks)

    def _check_table(self) -> str:
        try:
            self._dynamodb.get_item(TableName=self._table, Key={"pk": {"S": "READINESS"}, "sk": {"S": "PROBE"}})
        except ClientError as exc:
            return f"failed: {exc.response['Error']['Code']}"
        except BotoCoreError as exc:
            return f"failed: {type(exc).__name__}"
        return "ok"

    def _check_queue(self, url: str) -> str:
        try:
            self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        except ClientError as exc:
            return f"failed: {exc.response['Error']['Code']}"
        except BotoCoreError as exc:
            return f"failed: {type(exc).__name__}"
        return "ok"
