"""A look at the messages waiting in a queue, leaving them where they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from localcloud.emulator import emulator_session
from localcloud.operations import EmulatorUnreachableError, QueueNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

# SQS hands out at most this many messages per receive.
MAX_PEEK = 10
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=30, retries={"mode": "standard", "total_max_attempts": 2})


@dataclass(frozen=True)
class WaitingMessage:
    """One message in a queue, as a person inspects it."""

    message_id: str
    body: str
    sent_at: datetime | None
    receive_count: int
    attributes: dict[str, str]


def peek_messages(endpoint_url: str, queue_url: str, *, region: str, limit: int = MAX_PEEK) -> list[WaitingMessage]:
    """Up to `limit` (at most 10) visible messages of a queue, which stay visible to every other consumer.

    A peek is a receive with a visibility timeout of 0: the messages' receive counts go up by one,
    so a queue that has a redrive policy of its own must not be peeked at.
    """
    if not 1 <= limit <= MAX_PEEK:
        raise ValueError(f"a peek takes 1 to {MAX_PEEK} messages, not {limit}")
    sqs = emulator_session(region).client("sqs", endpoint_url=endpoint_url, config=_CLIENT_CONFIG)
    try:
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=limit,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
    except sqs.exceptions.QueueDoesNotExist as error:
        raise QueueNotFoundError(f"no queue at {queue_url}") from error
    except EndpointConnectionError as error:
        raise EmulatorUnreachableError(f"no emulator answers at {endpoint_url}") from error
    return [_waiting_message(message) for message in received.get("Messages", [])]


def _waiting_message(message: MessageTypeDef) -> WaitingMessage:
    system = message.get("Attributes", {})
    sent_ms = system.get("SentTimestamp")
    attributes = {
        name: value.get("StringValue", "<binary>") for name, value in message.get("MessageAttributes", {}).items()
    }
    return WaitingMessage(
        message_id=message.get("MessageId", ""),
        body=message.get("Body", ""),
        sent_at=datetime.fromtimestamp(int(sent_ms) / 1000, UTC) if sent_ms else None,
        receive_count=int(system.get("ApproximateReceiveCount", "0")),
        attributes=attributes,
    )
