"""p50, p95 and p99 of every route through the local API Gateway, beside the same handler called directly.

Each round calls the route through the gateway, then the same handler, warm, in a process of its
own against the same emulator, with the event the gateway would have built; both sides run under the
same background load, and the ratio of the p50s is what the gateway, the authorizer cache and the
worker process add. Before each route the pipeline finishes the work the previous one queued.
Run: `.venv/bin/python -m bench.api_latency`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    ORDER,
    PASSWORD,
    Client,
    WarmHandler,
    local_cloud,
    median,
    record,
    spread,
    wait_for_idle_queues,
)
from localcloud.stack import LocalCloud
from tests.support.events import api_event

ROUNDS = 100
# Register and login spend most of their time in argon2id, by design: fewer rounds say as much.
HASHING_ROUNDS = 30
WARM_UP = 10
# One full page of the default limit (20) and a next cursor to sign.
LISTED_ORDERS = 25
# Issue 4's target for GET /orders/{id}: the gateway adds at most 30% to the handler's own p50.
TARGET_ROUTE = "GET /orders/{id}"
TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Route:
    """One operation, as an HTTP request and as the proxy event the gateway would build for it."""

    label: str
    function: str
    event_name: str
    method: str
    path: str
    status: int
    client: Client
    # The authorizer's caller; None on public routes.
    user_id: str | None = None
    rounds: int = ROUNDS
    # A fresh body and headers for each call, from a string unique to that call.
    body: Callable[[str], Any] | None = None
    headers: Callable[[str], dict[str, str]] | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Customer:
    client: Client
    user_id: str
    email: str


def main() -> None:
    run = uuid.uuid4().hex[:8]
    results: list[str] = []
    with local_cloud() as cloud:
        for route in routes(cloud, run):
            wait_for_idle_queues(cloud.emulator.url)
            through_gateway, direct = measure(cloud, route)
            results.append(summary(route, through_gateway, direct))
    record(
        "API latency per route: local gateway versus the handler called directly",
        [
            f"{ROUNDS} rounds per route ({HASHING_ROUNDS} for register and login, which hash with argon2id), "
            f"each a gateway request then a direct call in a warm process of its own, after {WARM_UP} "
            "warm-up rounds; keep-alive HTTP; the pipeline idle at the start of each route",
            *results,
        ],
    )


def routes(cloud: LocalCloud, run: str) -> list[Route]:
    assert cloud.gateway is not None
    url = cloud.gateway.url
    anonymous = Client(url)
    customer = sign_up(url, f"latency-{run}@example.com", orders=1)
    lister = sign_up(url, f"latency-{run}-list@example.com", orders=LISTED_ORDERS)
    status, page = customer.client.call("GET", "/orders")
    assert status == 200, page
    order_id = page["items"][0]["id"]
    login = {"email": customer.email, "password": PASSWORD}

    def new_account(unique: str) -> dict[str, str]:
        return {"email": f"latency-{run}-{unique}@example.com", "password": PASSWORD, "name": "Bench"}

    return [
        Route("GET /health", "HealthFunction", "health", "GET", "/health", 200, anonymous),
        Route("GET /openapi.json", "DocsFunction", "openapi", "GET", "/openapi.json", 200, anonymous),
        Route("GET /ready", "ReadyFunction", "ready", "GET", "/ready", 200, anonymous),
        Route("GET /me", "MeFunction", "me", "GET", "/me", 200, customer.client, customer.user_id),
        Route(
            TARGET_ROUTE,
            "GetOrderFunction",
            "get_order",
            "GET",
            f"/orders/{order_id}",
            200,
            customer.client,
            customer.user_id,
            path_parameters={"order_id": order_id},
        ),
        Route("GET /orders", "ListOrdersFunction", "list_orders", "GET", "/orders", 200, lister.client, lister.user_id),
        Route(
            "POST /auth/login",
            "LoginFunction",
            "login",
            "POST",
            "/auth/login",
            200,
            anonymous,
            rounds=HASHING_ROUNDS,
            body=lambda _: login,
        ),
        Route(
            "POST /auth/register",
            "RegisterFunction",
            "register",
            "POST",
            "/auth/register",
            201,
            anonymous,
            rounds=HASHING_ROUNDS,
            body=new_account,
        ),
        # Last: every order it creates keeps the payment pipeline busy for a while.
        Route(
            "POST /orders",
            "CreateOrderFunction",
            "create_order",
            "POST",
            "/orders",
            201,
            customer.client,
            customer.user_id,
            body=lambda _: ORDER,
            # As a client should send it; also replaces the sample event's fixed key.
            headers=lambda unique: {"Idempotency-Key": f"{run}-{unique}"},
        ),
    ]


def sign_up(url: str, email: str, *, orders: int) -> Customer:
    client = Client(url)
    client.sign_up(email)
    status, me = client.call("GET", "/me")
    assert status == 200, me
    for _ in range(orders):
        status, order = client.call("POST", "/orders", ORDER)
        assert status == 201, order
    return Customer(client, me["id"], email)


def measure(cloud: LocalCloud, route: Route) -> tuple[list[float], list[float]]:
    """Durations in seconds through the gateway and of the direct call, interleaved round by round."""
    assert cloud.report is not None
    through_gateway: list[float] = []
    direct: list[float] = []
    with WarmHandler(cloud.report.stack.functions[route.function], cloud.emulator.url) as handler:
        for index in range(WARM_UP + route.rounds):
            over_http = call_gateway(route, f"g{index}")
            in_process = call_handler(handler, route, f"d{index}")
            if index >= WARM_UP:
                through_gateway.append(over_http)
                direct.append(in_process)
    return through_gateway, direct


def call_gateway(route: Route, unique: str) -> float:
    body = None if route.body is None else route.body(unique)
    headers = {} if route.headers is None else route.headers(unique)
    started = time.perf_counter()
    status, answer = route.client.call(route.method, route.path, body, **headers)
    duration = time.perf_counter() - started
    assert status == route.status, (route.label, status, answer)
    return duration


def call_handler(handler: WarmHandler, route: Route, unique: str) -> float:
    event = api_event(
        route.event_name,
        user_id=route.user_id,
        body=None if route.body is None else route.body(unique),
        # Always set: an empty query replaces the sample event's own parameters, as the HTTP side sends none.
        query={},
        path_parameters=route.path_parameters or None,
        headers=None if route.headers is None else route.headers(unique),
        request_id=str(uuid.uuid4()),
    )
    duration, response = handler.call(event)
    assert response["statusCode"] == route.status, (route.label, response)
    return duration


def summary(route: Route, through_gateway: list[float], direct: list[float]) -> str:
    ratio = median(through_gateway) / median(direct)
    target = f" (target at most {TARGET_RATIO})" if route.label == TARGET_ROUTE else ""
    return (
        f"{route.label}: gateway {spread(through_gateway)}; direct {spread(direct)}; ratio of p50s {ratio:.2f}{target}"
    )


if __name__ == "__main__":
    main()
