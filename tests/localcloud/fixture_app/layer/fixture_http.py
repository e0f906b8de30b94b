"""The fixture app's layer: what every API handler needs from API Gateway's proxy events and responses."""

import json
from typing import Any


def json_response(status: int, body: object) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def query_parameter(event: dict[str, Any], name: str, default: str) -> str:
    value: str = (event.get("queryStringParameters") or {}).get(name, default)
    return value
