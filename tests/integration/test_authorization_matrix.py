"""The authorization matrix: every route, called by every role about a stranger's resource.

MATRIX has one line per route (its operationId): how to call it and the status each role gets.
The cases come from ROUTES, so a route without its line fails here: add one when adding a route.
Values in a line may name the world below: `{stranger}` (another customer's user id),
`{stranger_order}` (one of their orders), `{held_order}` (a fresh order of theirs held for review),
`{paid_order}` (a fresh order of theirs, paid),
`{sku}` (a product), `{new_sku}` (a fresh product at version 1), `{unique}` (a fresh token).
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.provision import provision
from localcloud.spec import StackSpec
from shop.adapters.order_ledger import DynamoOrderLedger
from shop.adapters.products import DynamoProductRepository
from shop.domain.models import Order, Product
from shop.entrypoints.routes import CREATE_ORDER, REGISTER, ROUTES, Route
from shop.service_layer.ports import Charged
from tests.integration.conftest import REGION, TEMPLATE
from tests.support.catalog import SAMPLE_PRODUCTS, seed_products
from tests.support.events import FakeLambdaContext, api_event, json_body

ROLES = ("customer", "support", "admin")
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Case:
    """How to call a route about a stranger's resource, and the status each role gets."""

    expect: Mapping[str, int]
    path: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    query: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only(status: int, *roles: str) -> dict[str, int]:
    return {role: status if role in roles else 403 for role in ROLES}


MATRIX: dict[str, Case] = {
    "register": Case(everyone(201), body={"email": "{unique}@example.com", "password": PASSWORD, "name": "New"}),
    "login": Case(everyone(200), body={"email": "stranger@example.com", "password": PASSWORD}),
    "getMe": Case(everyone(200)),
    "createOrder": Case(only(201, "customer"), headers={"Idempotency-Key": "{unique}"}),
    # The stranger's order is not the customer's: a 404, so that its existence does not leak.
    "getOrder": Case(only(404, "customer"), path={"order_id": "{stranger_order}"}),
    "listOrders": Case(only(200, "customer")),
    "health": Case(everyone(200)),
    "ready": Case(everyone(200)),
    "openapi": Case(everyone(200)),
    "docs": Case(everyone(200)),
    "docsStylesheet": Case(everyone(200)),
    "docsScript": Case(everyone(200)),
    "docsInitializer": Case(everyone(200)),
    "listProducts": Case(everyone(200), query={}),
    "getProduct": Case(everyone(200), path={"sku": "{sku}"}),
    "createProduct": Case(
        only(201, "admin"), body={"sku": "NEW-{unique}", "name": "New", "price": 100, "currency": "EUR"}
    ),
    "updateProduct": Case(
        only(200, "admin"), path={"sku": "{new_sku}"}, body={"price": 200}, headers={"If-Match": '"1"'}
    ),
    "adminListOrders": Case(only(200, "support", "admin"), query={"status": "pending_payment"}),
    "adminGetOrder": Case(only(200, "support", "admin"), path={"order_id": "{stranger_order}"}),
    "resolveOrder": Case(only(200, "admin"), path={"order_id": "{held_order}"}, body={"action": "retry"}),
    "setUserRoles": Case(only(200, "admin"), path={"user_id": "{stranger}"}, body={"roles": ["customer"]}),
    # Cancelling reads the order under the caller's partition: a stranger's is a 404 to a customer.
    "cancelOrder": Case(only(404, "customer"), path={"order_id": "{stranger_order}"}),
    "refundOrder": Case(
        only(201, "support", "admin"), path={"order_id": "{paid_order}"}, headers={"Idempotency-Key": "{unique}"}
    ),
}


class World:
    """The stack's handlers in this process, a stranger with an order, a product, and a caller per role."""

    def __init__(self, stack: StackSpec, env: Mapping[str, str]) -> None:
        self._stack = stack
        self._env = env
        self._handlers: dict[str, Any] = {}
        # The products the sample order event orders.
        seed_products(self._dynamodb(), env["TABLE_NAME"], SAMPLE_PRODUCTS)
        self.callers = {role: self._register(f"{role}@example.com") for role in ROLES}
        self.stranger = self._register("stranger@example.com")
        self.stranger_order = self._order()
        self.sku = self._product()

    def invoke(self, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        if route.function not in self._handlers:
            module_name, _, attribute = self._stack.functions[route.function].handler.rpartition(".")
            sys.modules.pop(module_name, None)
            self._handlers[route.function] = getattr(importlib.import_module(module_name), attribute)
        result: dict[str, Any] = self._handlers[route.function](event, FakeLambdaContext(function_name=route.function))
        return result

    def event_name(self, route: Route) -> str:
        """A route's sample event is named for its handler module (events/<module>.json)."""
        return self._stack.functions[route.function].handler.rpartition(".")[0]

    def placeholders(self) -> Mapping[str, str]:
        world = self

        class Lazy(dict[str, str]):
            def __missing__(self, name: str) -> str:
                fresh = {
                    "unique": lambda: uuid.uuid4().hex,
                    "held_order": world._held_order,
                    "paid_order": world._paid_order,
                    "new_sku": world._product,
                }
                value = fresh[name]() if name in fresh else str(getattr(world, name))
                self[name] = value
                return value

        return Lazy()

    def _register(self, email: str) -> str:
        body = {"email": email, "password": PASSWORD, "name": "Someone"}
        return str(json_body(self.invoke(REGISTER, api_event("register", body=body)))["id"])

    def _order(self) -> str:
        event = api_event("create_order", user_id=self.stranger, headers={"Idempotency-Key": uuid.uuid4().hex})
        return str(json_body(self.invoke(CREATE_ORDER, event))["id"])

    def _held_order(self) -> str:
        order_id = self._order()
        ledger = DynamoOrderLedger(self._dynamodb(), self._env["TABLE_NAME"])
        order = ledger.get(self.stranger, order_id)
        assert isinstance(order, Order)
        ledger.hold_for_review(order, "held by the matrix test")
        return order_id

    def _paid_order(self) -> str:
        order_id = self._order()
        ledger = DynamoOrderLedger(self._dynamodb(), self._env["TABLE_NAME"])
        order = ledger.get(self.stranger, order_id)
        assert isinstance(order, Order)
        ledger.settle(order, Charged(payment_id=f"pi_{order_id}"), datetime.now(UTC))
        return order_id

    def _product(self) -> str:
        sku = f"SKU-{uuid.uuid4().hex[:8]}"
        product = Product(
            sku=sku, name=sku, description="", price=100, currency="EUR", active=True, version=1,
            created_at="2026-12-01T00:00:00.000Z", updated_at="2026-12-01T00:00:00.000Z",
        )  # fmt: skip
        DynamoProductRepository(self._dynamodb(), self._env["TABLE_NAME"]).add(product, 5)
        return sku

    def _dynamodb(self) -> Any:
        return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
        }.items():
            patch.setenv(name, value)
        stack = provision(TEMPLATE, endpoint_url=None, region=REGION, stack_name="shop-matrix")
        env = dict(stack.functions["CreateOrderFunction"].environment)
        for name, value in env.items():
            patch.setenv(name, value)
        yield World(stack, env)


def filled(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(names)
    if isinstance(value, dict):
        return {key: filled(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, names) for item in value]
    return value


def request_for(route: Route, case: Case, world: World, role: str) -> dict[str, Any]:
    names = world.placeholders()
    return api_event(
        world.event_name(route),
        user_id=None if route.public else world.callers[role],
        roles=role,
        body=filled(case.body, names),
        query=filled(dict(case.query), names) if case.query is not None else None,
        path_parameters=filled(dict(case.path), names) if case.path else None,
        headers=filled(dict(case.headers), names),
    )


def test_every_route_has_its_line_in_the_matrix() -> None:
    assert sorted(MATRIX) == sorted(route.operation_id for route in ROUTES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.operation_id)
def test_each_role_gets_the_status_the_matrix_gives_it(world: World, route: Route, role: str) -> None:
    # Given the route's line in the matrix
    case = MATRIX.get(route.operation_id)
    assert case is not None, f"add a line for {route.operation_id} to MATRIX"

    # When a caller with only this role calls it about a stranger's resource
    response = world.invoke(route, request_for(route, case, world, role))

    # Then the answer is the one the matrix says, and a refusal is a problem document
    assert response["statusCode"] == case.expect[role], response["body"]
    if response["statusCode"] in (403, 404):
        assert response["headers"]["Content-Type"] == "application/problem+json"
