"""Every HTTP route: the one description that handlers parse with and the OpenAPI document is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from shop.domain.models import (
    AccessToken,
    AdminListOrdersQuery,
    AdminOrderPage,
    AdminOrderView,
    CreateOrderRequest,
    CreateProductRequest,
    CreateRefundRequest,
    Health,
    IdempotencyKey,
    ListOrdersQuery,
    ListProductsQuery,
    LoginRequest,
    OrderPage,
    OrderView,
    ProductPage,
    ProductView,
    Readiness,
    RefundView,
    RegisterRequest,
    ResolveOrderRequest,
    SetRolesRequest,
    UpdateProductRequest,
    User,
)
from shop.domain.permissions import Action


@dataclass(frozen=True)
class HeaderParameter:
    """A request header an operation reads; `value_type` is the annotated type its value must fit."""

    name: str
    description: str
    value_type: Any
    required: bool = False


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
    # What the caller does, in the permissions table: `endpoint` asks `authorize` for it before the
    # handler runs. Every route behind the authorizer names one.
    action: Action | None = None
    # Statuses the handler answers with problem details. What every route or the API Gateway in
    # front of it may answer besides (500, throttling, the authorizer's refusals) is added by
    # shop.entrypoints.openapi from the route's other fields.
    errors: tuple[int, ...] = ()
    # Other statuses answered with the `response` model (the readiness probe's 503).
    response_statuses: tuple[int, ...] = ()
    headers: tuple[HeaderParameter, ...] = ()
    # Non-JSON answers (the docs page) name their media type here.
    media_type: str = "application/json"
    # The success answer carries an ETag header (the product's version).
    etag: bool = False


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
ME = Route(
    "getMe",
    "GET",
    "/me",
    "MeFunction",
    "The caller's account",
    response=User,
    action=Action.PROFILE_READ,
    errors=(403, 404, 503),
)
CREATE_ORDER = Route(
    "createOrder",
    "POST",
    "/orders",
    "CreateOrderFunction",
    "Place an order; payment happens asynchronously",
    success_status=201,
    request_body=CreateOrderRequest,
    response=OrderView,
    action=Action.ORDER_CREATE,
    # 401: the token is valid but its account no longer exists (shop.adapters.dynamo.account_exists_check).
    # 409: a line's sku is short of stock (the problem lists each, and by how much).
    errors=(400, 401, 403, 409, 413, 422, 503),
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
    action=Action.ORDER_READ,
    errors=(403, 404, 503),
)
LIST_ORDERS = Route(
    "listOrders",
    "GET",
    "/orders",
    "ListOrdersFunction",
    "The caller's orders, newest first",
    query=ListOrdersQuery,
    response=OrderPage,
    action=Action.ORDER_LIST,
    errors=(400, 403, 409, 422, 503),
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
# Swagger UI's files, served by the stack itself (from the swagger-ui-bundle package) so that the
# page works offline and its CSP allows its own origin only.
DOCS_STYLESHEET = Route(
    "docsStylesheet",
    "GET",
    "/docs/swagger-ui.css",
    "DocsFunction",
    "Swagger UI's stylesheet",
    public=True,
    media_type="text/css",
)
DOCS_SCRIPT = Route(
    "docsScript",
    "GET",
    "/docs/swagger-ui-bundle.js",
    "DocsFunction",
    "Swagger UI's script",
    public=True,
    media_type="text/javascript",
)
DOCS_INITIALIZER = Route(
    "docsInitializer",
    "GET",
    "/docs/swagger-initializer.js",
    "DocsFunction",
    "The script that starts Swagger UI on this document",
    public=True,
    media_type="text/javascript",
)

LIST_PRODUCTS = Route(
    "listProducts",
    "GET",
    "/products",
    "ListProductsFunction",
    "Active products by sku; `q` keeps those whose sku or name starts with it (sku matches first)",
    query=ListProductsQuery,
    response=ProductPage,
    public=True,
    errors=(400, 409, 422, 503),
)
GET_PRODUCT = Route(
    "getProduct",
    "GET",
    "/products/{sku}",
    "GetProductFunction",
    "One product with its stock, active or not; the ETag is its version",
    response=ProductView,
    public=True,
    errors=(404, 503),
    etag=True,
)
CREATE_PRODUCT = Route(
    "createProduct",
    "POST",
    "/products",
    "CreateProductFunction",
    "Add a product to the catalog",
    success_status=201,
    request_body=CreateProductRequest,
    response=ProductView,
    action=Action.PRODUCT_WRITE,
    errors=(400, 403, 409, 413, 422, 503),
    etag=True,
)
UPDATE_PRODUCT = Route(
    "updateProduct",
    "PATCH",
    "/products/{sku}",
    "UpdateProductFunction",
    "Change a product (`active: false` deactivates it) or adjust its stock by a delta",
    request_body=UpdateProductRequest,
    response=ProductView,
    action=Action.PRODUCT_WRITE,
    # 409: the stock delta would take the stock below zero.
    errors=(400, 403, 404, 409, 412, 413, 422, 428, 503),
    headers=(
        HeaderParameter(
            "If-Match",
            "The product's ETag as last read: a stale one is a 412, none a 428",
            Annotated[str, StringConstraints(min_length=1)],
            required=True,
        ),
    ),
    etag=True,
)
ADMIN_LIST_ORDERS = Route(
    "adminListOrders",
    "GET",
    "/admin/orders",
    "AdminListOrdersFunction",
    "Every customer's orders in one status, newest first",
    query=AdminListOrdersQuery,
    response=AdminOrderPage,
    action=Action.ADMIN_ORDERS_READ,
    errors=(400, 403, 409, 422, 503),
)
ADMIN_GET_ORDER = Route(
    "adminGetOrder",
    "GET",
    "/admin/orders/{order_id}",
    "AdminGetOrderFunction",
    "Any customer's order, with its payment and review details",
    response=AdminOrderView,
    action=Action.ADMIN_ORDERS_READ,
    errors=(403, 404, 503),
)
RESOLVE_ORDER = Route(
    "resolveOrder",
    "POST",
    "/admin/orders/{order_id}/resolve",
    "ResolveOrderFunction",
    "Decide an order held for review: `retry` charges it again, `fail` ends it in payment_failed",
    request_body=ResolveOrderRequest,
    response=AdminOrderView,
    action=Action.ADMIN_ORDERS_RESOLVE,
    # 409: the order is not (or no longer) held for review.
    errors=(400, 403, 404, 409, 413, 422, 503),
)
SET_USER_ROLES = Route(
    "setUserRoles",
    "PUT",
    "/admin/users/{user_id}/roles",
    "SetUserRolesFunction",
    "Replace a user's roles; they apply to the user's next token (see the README on revocation)",
    request_body=SetRolesRequest,
    response=User,
    action=Action.USER_ROLES_WRITE,
    errors=(400, 403, 404, 409, 413, 422, 503),
)

REFUND_ORDER = Route(
    "refundOrder",
    "POST",
    "/orders/{order_id}/refunds",
    "RefundOrderFunction",
    "Refund part or all of a paid order; the payment worker gives the money back",
    success_status=201,
    request_body=CreateRefundRequest,
    response=RefundView,
    errors=(400, 403, 404, 409, 413, 422, 503),
    headers=(
        HeaderParameter(
            "Idempotency-Key",
            "Required: a retried request returns the refund the first one asked for, and refunds nothing more",
            IdempotencyKey,
            required=True,
        ),
    ),
    action=Action.ORDER_REFUND,
)

CANCEL_ORDER = Route(
    "cancelOrder",
    "POST",
    "/orders/{order_id}/cancel",
    "CancelOrderFunction",
    "Cancel one of the caller's orders that is still pending payment; its units go back to stock",
    response=OrderView,
    action=Action.ORDER_CANCEL,
    errors=(403, 404, 409, 503),
)

ROUTES = (
    REGISTER,
    LOGIN,
    ME,
    CREATE_ORDER,
    GET_ORDER,
    LIST_ORDERS,
    HEALTH,
    READY,
    OPENAPI,
    DOCS,
    DOCS_STYLESHEET,
    DOCS_SCRIPT,
    DOCS_INITIALIZER,
    LIST_PRODUCTS,
    GET_PRODUCT,
    CREATE_PRODUCT,
    UPDATE_PRODUCT,
    ADMIN_LIST_ORDERS,
    ADMIN_GET_ORDER,
    RESOLVE_ORDER,
    SET_USER_ROLES,
    REFUND_ORDER,
    CANCEL_ORDER,
)
