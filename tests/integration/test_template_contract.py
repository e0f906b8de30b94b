"""The template, the route table and the handlers describe one API."""

from __future__ import annotations

import importlib

from localcloud.spec import StackSpec
from shop.entrypoints.routes import ROUTES
from tests.support.events import EVENTS


def test_every_route_has_its_api_event_with_the_right_auth_and_nothing_else(stack: StackSpec) -> None:
    declared = {
        (event.method.upper(), event.path, logical_id, event.authorizer is None)
        for logical_id, function in stack.functions.items()
        for event in function.api_events
    }

    assert declared == {(route.method, route.path, route.function, route.public) for route in ROUTES}


def test_every_function_handler_exists(stack: StackSpec, load_handler: object) -> None:
    for function in stack.functions.values():
        module_name, _, attribute = function.handler.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), function.handler


def test_every_function_has_a_sample_event_named_for_its_module(stack: StackSpec) -> None:
    missing = [
        logical_id
        for logical_id, function in stack.functions.items()
        if not (EVENTS / f"{function.handler.rpartition('.')[0]}.json").is_file()
    ]

    assert missing == []


def test_the_table_has_ttl_and_the_indexes_the_access_patterns_need(stack: StackSpec, dynamodb: object) -> None:
    table_name = stack.functions["CreateOrderFunction"].environment["TABLE_NAME"]

    table = dynamodb.describe_table(TableName=table_name)["Table"]  # type: ignore[attr-defined]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]  # type: ignore[attr-defined]

    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
        "ByUserStatus",
        "PendingPayments",
        "OrdersByStatus",
        "OrderById",
        "CatalogBySku",
        "CatalogByName",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}
