"""Handlers for the Lambda API tests."""

import json
import os
import time
from typing import Any

import boto3


class OrderRejectedError(Exception):
    pass


def echo(event: object, context: Any) -> object:
    print(f"echo {json.dumps(event)} in {context.function_name}")
    return event


def fail(event: object, context: object) -> None:
    print("about to fail")
    raise OrderRejectedError("order 42 has no items")


def sleep(event: dict[str, float], context: object) -> str:
    time.sleep(event["seconds"])
    return "slept"


def large_answer(event: dict[str, int], context: object) -> str:
    return "x" * event["size"]


def call_another(event: object, context: object) -> dict[str, object]:
    # No endpoint here: the client follows AWS_ENDPOINT_URL, as a deployed function follows AWS.
    answer = boto3.client("lambda").invoke(FunctionName=os.environ["CALLEE"], Payload=json.dumps(event).encode())
    return {"status": answer["StatusCode"], "payload": json.loads(answer["Payload"].read())}
