"""No request path may Scan the table: every access pattern is a key lookup or a Query."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.support.events import api_event, json_body, load_event


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def spy(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append(f"{self.meta.service_model.service_name}:{operation_name}")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    yield calls


def test_no_route_issues_a_dynamodb_scan(
    invoke: Callable[[str, dict[str, Any]], dict[str, Any]], aws_calls: list[str]
) -> None:
    user = json_body(invoke("register", api_event("register")))
    token = json_body(invoke("login", api_event("login")))["access_token"]
    invoke("authorizer", load_event("authorizer") | {"authorizationToken": f"Bearer {token}"})
    invoke("me", api_event("me", user_id=user["id"]))
    order = json_body(invoke("create_order", api_event("create_order", user_id=user["id"])))
    invoke("get_order", api_event("get_order", user_id=user["id"], path_parameters={"order_id": order["id"]}))
    invoke("list_orders", api_event("list_orders", user_id=user["id"], query={"limit": "1"}))
    invoke("list_orders", api_event("list_orders", user_id=user["id"], query={"status": "paid"}))
    invoke("ready", api_event("ready"))
    admin = {"user_id": user["id"], "roles": "admin"}
    invoke("create_product", api_event("create_product", **admin))
    invoke("get_product", api_event("get_product"))
    invoke("list_products", api_event("list_products"))
    invoke("list_products", api_event("list_products", query={"q": "analytical"}))
    invoke("update_product", api_event("update_product", **admin))
    # The sample event's caller is support, refunding an order that is not paid yet: a 409 after the lookup.
    invoke("refund_order", api_event("refund_order", path_parameters={"order_id": order["id"]}))

    dynamodb_calls = {call for call in aws_calls if call.startswith("dynamodb:")}
    assert dynamodb_calls >= {
        "dynamodb:TransactWriteItems",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    }
    assert "dynamodb:Scan" not in dynamodb_calls
