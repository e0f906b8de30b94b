"""Lambda SQS events built from events/<worker>.json, carrying the messages a test chooses."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.events import load_event


def sqs_event(name: str, messages: Sequence[Mapping[str, Any]], *, queue_arn: str | None = None) -> dict[str, Any]:
    """The sample event with one record per message, each as SQS ReceiveMessage returned it."""
    event = load_event(name)
    template = event["Records"][0]
    event["Records"] = [_record(template, message, queue_arn) for message in messages]
    return event


def sqs_message(body: str, *, receive_count: int = 1, attributes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A message shaped as ReceiveMessage returns it, for events that never went through a queue."""
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": f"receipt-{uuid.uuid4()}",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Attributes": {"ApproximateReceiveCount": str(receive_count)},
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()
        },
    }


def _record(template: Mapping[str, Any], message: Mapping[str, Any], queue_arn: str | None) -> dict[str, Any]:
    record = copy.deepcopy(dict(template))
    record["messageId"] = message["MessageId"]
    record["receiptHandle"] = message["ReceiptHandle"]
    record["body"] = message["Body"]
    record["md5OfBody"] = message["MD5OfBody"]
    record["attributes"] = {**record["attributes"], **message.get("Attributes", {})}
    record["messageAttributes"] = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    record["md5OfMessageAttributes"] = message.get("MD5OfMessageAttributes")
    if queue_arn is not None:
        record["eventSourceARN"] = queue_arn
    return record
