"""SQS worker: records each job in the table; a body starting with `fail` is reported as a failed item."""

import os
from typing import Any

import boto3

TABLE_NAME = os.environ["TABLE_NAME"]
DYNAMODB = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        body = record["body"]
        if body.startswith("fail"):
            print(f"cannot process {body}")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        DYNAMODB.put_item(TableName=TABLE_NAME, Item={"pk": {"S": f"job#{body}"}})
    return {"batchItemFailures": failures}
