"""Every HTTP route: the one description that handlers parse with and the OpenAPI document is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shop.domain.models import (
    AccessToken,
    CreateOrderRequest,
    Health,
    IdempotencyKey,
    ListOrdersQuery,
    LoginRequest,
    OrderPage,
    OrderView,
    Readiness,
    RegisterRequest,
    User,
)


@dataclass(frozen=True)
class HeaderParameter:
    """A request header an operation reads; `value_type` is the annotated type its value must fit."""

    name: str
    description: str
    value_type: Any


@dataclass(frozen=True)
class Route:
    """One operation: where it lives, what it takes, what it answers, and which function serves it."""

    operation_id: str
    method: str
    path: str
    function: str
    summary: str
    success_status: int = 200
    request_body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    public: bool = False
    # Statuses the handler answers with problem details. What every route or the API Gateway in
    # front of it may answer besides (500, throttling, the authorizer's refusals) is added by
    # shop.entrypoints.openapi from the route's other fields.
    errors: tuple[int, ...] = ()
    # Other statuses answered with the `response` model (the readiness probe's 503).
    response_statuses: tuple[int, ...] = ()
    headers: tuple[HeaderParameter, ...] = ()
    # Non-JSON answers (the docs page) name their media type here.
    media_type: str = "application/json"


REGISTER = Route(
    "register",
    "POST",
    "/auth/register",
    "RegisterFunction",
    "Create an account",
    success_status=201,
    request_body=RegisterRequest,
    response=User,
    public=True,
    errors=(400, 409, 413, 422, 503),
)
LOGIN = Route(
    "login",
    "POST",
    "/auth/login",
    "LoginFunction",
    "Exchange email and password for an access token",
    request_body=LoginRequest,
    response=AccessToken,
    public=True,
    errors=(400, 401, 413, 422, 429, 503),
)
ME = Route("getMe", "GET", "/me", "MeFunction", "The caller's account", response=User, errors=(404, 503))
CREATE_ORDER = Route(
    "createOrder",
    "POST",
    "/orders",
    "CreateOrderFunction",
    "Place an order; payment happens asynchronously",
    success_status=201,
    request_body=CreateOrderRequest,
    response=OrderView,
    errors=(400, 409, 413, 422, 503),
    headers=(
        HeaderParameter(
            "Idempotency-Key", "Makes a retried request return the order the first one created", IdempotencyKey
        ),
    ),
)
GET_ORDER = Route(
    "getOrder",
    "GET",
    "/orders/{order_id}",
    "GetOrderFunction",
    "One of the caller's orders",
    response=OrderView,
    errors=(404, 503),
)
LIST_ORDERS = Route(
    "listOrders",
    "GET",
    "/orders",
    "ListOrdersFunction",
    "The caller's orders, newest first",
    query=ListOrdersQuery,
    response=OrderPage,
    errors=(400, 409, 422, 503),
)
HEALTH = Route(
    "health", "GET", "/health", "HealthFunction", "Liveness: answers without touching AWS", response=Health, public=True
)
READY = Route(
    "ready",
    "GET",
    "/ready",
    "ReadyFunction",
    "Readiness: DynamoDB and SQS are reachable",
    response=Readiness,
    public=True,
    response_statuses=(503,),
)
OPENAPI = Route("openapi", "GET", "/openapi.json", "DocsFunction", "This OpenAPI document", public=True)
DOCS = Route(
    "docs", "GET", "/docs", "DocsFunction", "Interactive API documentation", public=True, media_type="text/html"
)

CANCEL_ORDER = Route(
    "cancelOrder",
    "POST",
    "/orders/{order_id}/cancel",
    "CancelOrderFunction",
    "Cancel one of the caller's orders that is still pending payment; its units go back to stock",
    response=OrderView,
    errors=(403, 404, 409, 503),
)

ROUTES = (REGISTER, LOGIN, ME, CREATE_ORDER, GET_ORDER, LIST_ORDERS, HEALTH, READY, OPENAPI, DOCS, CANCEL_ORDER)
