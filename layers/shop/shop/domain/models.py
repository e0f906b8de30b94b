"""Request, response and entity models, with the limits the API promises."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

ALLOWED_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK")
Currency = Literal["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK"]
# Stripe's ceiling for one charge is eight digits of minor units; a larger order could never
# be paid, so it is refused when placed rather than failing later in the worker.
MAX_ORDER_TOTAL = 99_999_999
# Placing an order is one DynamoDB transaction of at most 100 items: the check that the caller's
# account exists, the order, its idempotency record, and per line the stock decrement and the
# check that the product's price is still the one snapshotted. 3 + 2 x 48 = 99.
MAX_ORDER_LINES = 48

# Deliberately simple: a full RFC 5322 parser accepts addresses no mail system delivers to.
# The OpenAPI document publishes the same pattern, so what it calls valid the API accepts.
_EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_EMAIL = re.compile(_EMAIL_PATTERN)
_EMAIL_MAX_LENGTH = 254


def _normalise_email(value: str) -> str:
    # fullmatch: Python's `$` would also accept a trailing newline, which the published pattern refuses.
    if not _EMAIL.fullmatch(value):
        raise ValueError("not a valid email address")
    return value.lower()


Email = Annotated[
    str,
    StringConstraints(max_length=_EMAIL_MAX_LENGTH),
    AfterValidator(_normalise_email),
    WithJsonSchema({"type": "string", "maxLength": _EMAIL_MAX_LENGTH, "pattern": _EMAIL_PATTERN}),
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=128)]
# At least one visible character: a name of spaces alone would be stripped to nothing.
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
# Visible ASCII only, which every HTTP hop passes unchanged, and short enough that the key's
# DynamoDB sort key (`IDEMPOTENCY#<key>`) stays far inside the 1024-byte limit.
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]


def _whole_number(value: object) -> object:
    # JSON Schema counts 1.0 as an integer, so the API takes it as 1; "1", true and 1.5 stay refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Last in an Annotated, after the bounds, so they stay in the JSON schema as minimum and maximum.
AcceptWholeFloats = BeforeValidator(_whole_number)
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
PaymentMethod = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]+$", max_length=100)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class Role(StrEnum):
    """What a user may do is what their roles allow (`shop.domain.permissions`)."""

    CUSTOMER = "customer"
    SUPPORT = "support"
    ADMIN = "admin"


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


# What may still be refunded: a captured order that has money left on it.
REFUNDABLE_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED})


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class CancellationReason(StrEnum):
    CUSTOMER = "customer"
    # Still pending, never charged, past the hold (template PendingOrderHoldSeconds).
    ABANDONED = "abandoned"


class RegisterRequest(_Input):
    email: Email
    password: Password
    name: PersonName


class LoginRequest(_Input):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


PRICES_FROM_CATALOG = "unit_price is not accepted: prices come from the catalog, send only sku and quantity"


class OrderLineRequest(_Input):
    """One line as the client orders it: which product and how many. The price is the catalog's."""

    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=1000), AcceptWholeFloats]

    @model_validator(mode="before")
    @classmethod
    def _no_client_prices(cls, data: object) -> object:
        # Named on its own rather than as one more unknown field: a client that used to send
        # prices learns why they are refused.
        if isinstance(data, dict) and "unit_price" in data:
            raise ValueError(PRICES_FROM_CATALOG)
        return data


class CreateOrderRequest(_Input):
    items: Annotated[list[OrderLineRequest], Field(min_length=1, max_length=MAX_ORDER_LINES)]
    currency: Currency
    payment_method: PaymentMethod

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> CreateOrderRequest:
        # One transaction may touch a stock item once, so a sku's units go on one line.
        seen: dict[str, int] = {}
        for index, line in enumerate(self.items):
            if line.sku in seen:
                raise ValueError(f"items {seen[line.sku]} and {index} both order sku {line.sku}; put it on one line")
            seen[line.sku] = index
        return self


class OrderLine(_Output):
    """One line of a placed order: the product's name and price as the catalog had them at placement."""

    sku: str
    name: str
    quantity: int
    unit_price: Annotated[int, Field(description="Minor units of the currency, from the catalog")]


class CreateRefundRequest(_Input):
    amount: Annotated[
        StrictInt,
        Field(ge=1, le=MAX_ORDER_TOTAL, description="Minor units of the order's currency, at most what is left"),
        AcceptWholeFloats,
    ]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"\S")]


class ListOrdersQuery(_Input):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    status: OrderStatus | None = None


class User(_Output):
    id: str
    email: str
    name: str
    roles: tuple[str, ...]
    created_at: str


class Credential(_Output):
    """What login needs, stored under the email so one read answers it."""

    user_id: str
    email: str
    password_hash: str
    roles: tuple[str, ...]


class AccessToken(_Output):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class Principal(_Output):
    """The authenticated caller, as the authorizer hands it to the routes."""

    user_id: str
    roles: tuple[str, ...] = ()
    # The token's `exp` (epoch seconds): past it the caller's roles no longer count, even while
    # API Gateway still serves the authorizer's cached answer.
    expires_at: int | None = None


class Order(_Output):
    id: str
    user_id: str
    status: OrderStatus
    items: tuple[OrderLine, ...]
    currency: Currency
    total: int
    payment_method: str
    created_at: str
    updated_at: str
    correlation_id: str | None = None
    # The provider's id of the captured payment, once paid.
    payment_id: str | None = None
    # What succeeded refunds gave back; the status is `refunded` once it reaches the total.
    refunded_amount: int = 0
    # Refunds requested and not refused (pending or succeeded): never above the total, by a
    # conditional write (`shop.adapters.refund_ledger`).
    refund_reserved: int = 0
    # Set by the payment worker before it calls the provider; from then on the order cannot be cancelled.
    charge_attempted_at: str | None = None
    cancellation_reason: CancellationReason | None = None


class OrderView(_Output):
    """An order as its owner sees it."""

    id: str
    status: OrderStatus
    items: tuple[OrderLine, ...]
    currency: Currency
    total: int
    refunded_amount: int = 0
    created_at: str
    updated_at: str
    cancellation_reason: CancellationReason | None = None

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls.model_validate(order.model_dump(include=set(cls.model_fields)))


class Refund(_Output):
    """Money back on a paid order, asked for by staff and carried out by the payment worker."""

    id: str
    order_id: str
    user_id: str
    amount: int
    currency: Currency
    reason: str
    status: RefundStatus
    requested_by: str
    # The provider's id of the payment to refund (the order's `payment_id`).
    payment_id: str
    created_at: str
    updated_at: str
    correlation_id: str | None = None
    provider_refund_id: str | None = None
    failure_code: str | None = None
    # The order's status that this refund's success produced (partially_refunded or refunded).
    order_status: OrderStatus | None = None


class RefundView(_Output):
    """A refund as staff see it."""

    id: str
    order_id: str
    amount: int
    currency: Currency
    reason: str
    status: RefundStatus
    failure_code: str | None = None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, refund: Refund) -> RefundView:
        return cls.model_validate(refund.model_dump(include=set(cls.model_fields)))


class OrderPage(_Output):
    items: list[OrderView]
    next_cursor: str | None


ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]
ProductDescription = Annotated[str, StringConstraints(max_length=2000)]
Price = Annotated[StrictInt, Field(ge=1, le=10_000_000, description="Minor units of the currency"), AcceptWholeFloats]
StockLevel = Annotated[StrictInt, Field(ge=0, le=1_000_000_000, description="Units on hand"), AcceptWholeFloats]
StockDelta = Annotated[
    StrictInt,
    Field(ge=-1_000_000_000, le=1_000_000_000, description="Units added (or, negative, taken away); never below 0"),
    AcceptWholeFloats,
]
# A prefix of a sku or of a product name, matched without regard to case.
SearchPrefix = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"\S")]


def search_key(text: str) -> str:
    """How skus, names and search prefixes are compared: case-folded."""
    return text.casefold()


class CreateProductRequest(_Input):
    sku: Sku
    name: ProductName
    description: ProductDescription = ""
    price: Price
    currency: Currency
    stock: StockLevel = 0
    active: StrictBool = True


def _schema_without_null(kind: Any) -> WithJsonSchema:
    """A PATCH field's schema: absent leaves the value as it is, and null is not a value it takes."""
    return WithJsonSchema(TypeAdapter(kind).json_schema())


def _only_present_fields(schema: dict[str, Any]) -> None:
    # A change names at least one field, and an omitted field has no default to document: it is unchanged.
    schema["minProperties"] = 1
    for field_schema in schema["properties"].values():
        field_schema.pop("default", None)


class UpdateProductRequest(_Input):
    """The fields to change; `stock_delta` adjusts the units on hand by a difference, never to a value."""

    model_config = ConfigDict(json_schema_extra=_only_present_fields)

    name: Annotated[ProductName | None, _schema_without_null(ProductName)] = None
    description: Annotated[ProductDescription | None, _schema_without_null(ProductDescription)] = None
    price: Annotated[Price | None, _schema_without_null(Price)] = None
    currency: Annotated[Currency | None, _schema_without_null(Currency)] = None
    active: Annotated[StrictBool | None, _schema_without_null(StrictBool)] = None
    stock_delta: Annotated[StockDelta | None, _schema_without_null(StockDelta)] = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"leave out the fields not to change instead of sending null: {', '.join(nulls)}")
        return self


class ListProductsQuery(_Input):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    q: SearchPrefix | None = None


class Product(_Output):
    """A catalog entry; `version` counts its changes and is its ETag."""

    sku: str
    name: str
    description: str
    price: int
    currency: Currency
    active: bool
    version: int
    created_at: str
    updated_at: str


class ProductView(Product):
    """A product with its units on hand."""

    stock: int


class ProductPage(_Output):
    items: list[ProductView]
    next_cursor: str | None


class AdminListOrdersQuery(_Input):
    status: OrderStatus
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None


class AdminOrderView(Order):
    """An order as operators see it: whose it is, how its payment went, and any hold for review."""

    failure_code: str | None = None
    # Set while a person must decide (POST /admin/orders/{id}/resolve); kept afterwards with the decision.
    review_reason: str | None = None
    review_decision: Literal["retry", "fail"] | None = None
    reviewed_by: str | None = None

    @property
    def held_for_review(self) -> bool:
        return (
            self.status is OrderStatus.PENDING_PAYMENT and self.review_reason is not None and not self.review_decision
        )


class AdminOrderPage(_Output):
    items: list[AdminOrderView]
    next_cursor: str | None


class ResolveOrderRequest(_Input):
    """What to do with an order held for review: charge it again, or fail it."""

    action: Literal["retry", "fail"]


class SetRolesRequest(_Input):
    """The user's roles from now on: the whole set, replacing the old one."""

    roles: Annotated[list[Role], Field(max_length=len(Role), json_schema_extra={"uniqueItems": True})]

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if len(set(self.roles)) != len(self.roles):
            raise ValueError("name each role once")
        return self


class Health(_Output):
    status: Literal["ok"] = "ok"


class Readiness(_Output):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


OrderEventType = Literal[
    "order.paid", "order.payment_failed", "order.cancelled", "order.partially_refunded", "order.refunded"
]
_EVENT_TYPES: dict[OrderStatus, OrderEventType] = {
    OrderStatus.PAID: "order.paid",
    OrderStatus.PAYMENT_FAILED: "order.payment_failed",
    OrderStatus.CANCELLED: "order.cancelled",
}
# The status whose event an order's status event is: a refunded order's payment event is "paid"
# (refunds have events of their own, `OrderStatusEvent.of_refund`).
_EVENT_STATUS: dict[OrderStatus, OrderStatus] = {
    OrderStatus.PAID: OrderStatus.PAID,
    OrderStatus.PARTIALLY_REFUNDED: OrderStatus.PAID,
    OrderStatus.REFUNDED: OrderStatus.PAID,
    OrderStatus.PAYMENT_FAILED: OrderStatus.PAYMENT_FAILED,
    OrderStatus.CANCELLED: OrderStatus.CANCELLED,
}


class OrderStatusEvent(_Output):
    """An order reached a final status; subscribers filter on `user_id` and `event_type`."""

    # Stable per order and status, so a subscriber can drop the rare duplicate delivery.
    event_id: str
    event_type: OrderEventType
    version: Literal[1] = 1
    order_id: str
    user_id: str
    status: OrderStatus
    total: int
    currency: Currency
    occurred_at: str
    # Refund events only: which refund, and how much it gave back.
    refund_id: str | None = None
    refund_amount: int | None = None

    @classmethod
    def of_refund(cls, order: Order, refund: Refund) -> OrderStatusEvent:
        """The event of one succeeded refund; its id is the refund's, as one order may have several."""
        if refund.order_status not in {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}:
            raise ValueError("only a succeeded refund has a status event")
        event_type: OrderEventType = (
            "order.refunded" if refund.order_status is OrderStatus.REFUNDED else "order.partially_refunded"
        )
        return cls(
            event_id=f"{order.id}:refund:{refund.id}",
            event_type=event_type,
            order_id=order.id,
            user_id=order.user_id,
            status=refund.order_status,
            total=order.total,
            currency=order.currency,
            occurred_at=refund.updated_at,
            refund_id=refund.id,
            refund_amount=refund.amount,
        )

    @classmethod
    def of(cls, order: Order) -> OrderStatusEvent:
        """The event of the order's payment or cancellation; an order refunded since was paid."""
        status = _EVENT_STATUS.get(order.status)
        if status is None:
            raise ValueError(f"an order in status {order.status.value} has no status event")
        return cls(
            event_id=f"{order.id}:{status.value}",
            event_type=_EVENT_TYPES[status],
            order_id=order.id,
            user_id=order.user_id,
            status=status,
            total=order.total,
            currency=order.currency,
            occurred_at=order.updated_at,
        )
