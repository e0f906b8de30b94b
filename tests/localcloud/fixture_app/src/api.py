"""The fixture app's API: a greeting, the caller, items in DynamoDB, jobs sent to SQS, mail, files."""

import json
import os
from collections.abc import Callable
from typing import Any

import boto3
from fixture_http import json_response  # type: ignore[import-not-found]  # the app's layer, on the path at run time

# The hot reload test rewrites this line.
GREETING = "hello"

TABLE_NAME = os.environ["TABLE_NAME"]
DYNAMODB = boto3.client("dynamodb")
SQS = boto3.client("sqs")
SESV2 = boto3.client("sesv2")

type Event = dict[str, Any]
# What the layer's json_response builds; the layer is not visible to the type checker.
type Response = object


def hello(event: Event) -> Response:
    return json_response(200, {"message": GREETING})


def whoami(event: Event) -> Response:
    return json_response(200, {"user": event["requestContext"]["authorizer"]["user"]})


def put_item(event: Event) -> Response:
    item_id = event["pathParameters"]["id"]
    DYNAMODB.put_item(TableName=TABLE_NAME, Item={"pk": {"S": f"item#{item_id}"}, "text": {"S": event["body"] or ""}})
    return json_response(201, {"id": item_id})


def get_item(event: Event) -> Response:
    item_id = event["pathParameters"]["id"]
    item = DYNAMODB.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"item#{item_id}"}}).get("Item")
    if item is None:
        return json_response(404, {"error": f"no item {item_id}"})
    return json_response(200, {"id": item_id, "text": item["text"]["S"]})


def send_message(event: Event) -> Response:
    sent = SQS.send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=event["body"])
    return json_response(202, {"messageId": sent["MessageId"]})


def send_mail(event: Event) -> Response:
    mail = json.loads(event["body"])
    sent = SESV2.send_email(
        FromEmailAddress=os.environ["SENDER"],
        Destination={"ToAddresses": [mail["to"]]},
        Content={"Simple": {"Subject": {"Data": mail["subject"]}, "Body": {"Text": {"Data": mail["text"]}}}},
    )
    return json_response(202, {"messageId": sent["MessageId"]})


def files(event: Event) -> Response:
    return json_response(200, {"method": event["httpMethod"], "path": event["pathParameters"]["proxy"]})


ROUTES: dict[tuple[str, str], Callable[[Event], Response]] = {
    ("GET", "/hello"): hello,
    ("GET", "/whoami"): whoami,
    ("PUT", "/items/{id}"): put_item,
    ("GET", "/items/{id}"): get_item,
    ("POST", "/messages"): send_message,
    ("POST", "/mail"): send_mail,
    ("ANY", "/files/{proxy+}"): files,
}


def handler(event: Event, context: object) -> Response:
    resource = event["resource"]
    route = ROUTES.get((event["httpMethod"], resource)) or ROUTES[("ANY", resource)]
    return route(event)
