"""Events from events/*.json, the same files `localcloud invoke` and `sam local invoke` use."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json."""
    return copy.deepcopy(_read(name))


def api_event(
    name: str,
    *,
    user_id: str | None = None,
    roles: str = "customer",
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway proxy event from a sample, with the caller and the request swapped in."""
    event = load_event(name)
    context = event["requestContext"]
    if user_id is not None:
        context["authorizer"] = {"principalId": user_id, "user_id": user_id, "roles": roles}
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if query is not None:
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
        path = context["resourcePath"]
        for key, value in path_parameters.items():
            path = path.replace("{" + key + "}", value)
        event["path"] = path
    if headers:
        event["headers"].update(headers)
        event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
    if request_id is not None:
        context["requestId"] = request_id
    return event


@dataclass
class FakeLambdaContext:
    """The attributes Powertools and our handlers read from Lambda's context object."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def json_body(response: dict[str, Any]) -> Any:
    """The decoded body of a handler's proxy response."""
    return json.loads(response["body"])
