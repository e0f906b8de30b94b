"""The SNS adapter of the OrderEventPublisher port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.domain.models import OrderStatusEvent
from shop.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

# SNS takes at most ten entries in one PublishBatch.
MAX_BATCH_ENTRIES = 10


def message_attributes(event: OrderStatusEvent) -> dict[str, MessageAttributeValueTypeDef]:
    """What subscription filter policies match on: whose order, and what happened to it."""
    return {
        "user_id": {"DataType": "String", "StringValue": event.user_id},
        "event_type": {"DataType": "String", "StringValue": event.event_type},
    }


class SnsOrderEventPublisher:
    """Publishes each event as JSON; several at once go out in PublishBatch calls of up to ten."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, events: Sequence[OrderStatusEvent]) -> list[bool]:
        if len(events) == 1:
            return [self._publish_one(events[0])]
        results: list[bool] = []
        for start in range(0, len(events), MAX_BATCH_ENTRIES):
            results += self._publish_batch(events[start : start + MAX_BATCH_ENTRIES])
        return results

    def _publish_one(self, event: OrderStatusEvent) -> bool:
        try:
            self._client.publish(
                TopicArn=self._topic_arn, Message=event.model_dump_json(), MessageAttributes=message_attributes(event)
            )
        except (ClientError, BotoCoreError):
            logger.warning("order event not published", extra={"event_id": event.event_id}, exc_info=True)
            return False
        return True

    def _publish_batch(self, events: Sequence[OrderStatusEvent]) -> list[bool]:
        entries = {f"event-{index}": event for index, event in enumerate(events)}
        try:
            response = self._client.publish_batch(
                TopicArn=self._topic_arn,
                PublishBatchRequestEntries=[
                    {"Id": entry_id, "Message": event.model_dump_json(), "MessageAttributes": message_attributes(event)}
                    for entry_id, event in entries.items()
                ],
            )
        except (ClientError, BotoCoreError):
            logger.warning("order events not published", extra={"count": len(events)}, exc_info=True)
            return [False] * len(events)
        for failure in response.get("Failed", []):
            logger.warning("order event refused", extra={"event_id": entries[failure["Id"]].event_id, **failure})
        published = {success["Id"] for success in response.get("Successful", []) if "Id" in success}
        return [entry_id in published for entry_id in entries]
