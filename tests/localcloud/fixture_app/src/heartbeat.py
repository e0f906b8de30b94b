"""Scheduled every minute: records the scheduled event it was given."""

import os
from typing import Any

import boto3

TABLE_NAME = os.environ["TABLE_NAME"]
DYNAMODB = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    key = f"heartbeat#{event['id']}"
    DYNAMODB.put_item(TableName=TABLE_NAME, Item={"pk": {"S": key}, "time": {"S": event["time"]}})
    return {"pk": key}
