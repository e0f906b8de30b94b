"""Request, response and entity models, with the limits the API promises."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

ALLOWED_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK")
Currency = Literal["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK"]
# Stripe's ceiling for one charge is eight digits of minor units; a larger order could never
# be paid, so it is refused when placed rather than failing later in the worker.
MAX_ORDER_TOTAL = 99_999_999
# Placing an order is one DynamoDB transaction of at most 100 items: the order, its idempotency
# record, and per line the stock decrement and the check that the product's price is still the
# one snapshotted. 2 + 2 x 49 = 100.
MAX_ORDER_LINES = 49

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


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"


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
    created_at: str
    updated_at: str
    cancellation_reason: CancellationReason | None = None

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls.model_validate(order.model_dump(include=set(cls.model_fields)))


class OrderPage(_Output):
    items: list[OrderView]
    next_cursor: str | None


class Health(_Output):
    status: Literal["ok"] = "ok"


class Readiness(_Output):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


OrderEventType = Literal["order.paid", "order.payment_failed", "order.cancelled"]
_EVENT_TYPES: dict[OrderStatus, OrderEventType] = {
    OrderStatus.PAID: "order.paid",
    OrderStatus.PAYMENT_FAILED: "order.payment_failed",
    OrderStatus.CANCELLED: "order.cancelled",
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

    @classmethod
    def of(cls, order: Order) -> OrderStatusEvent:
        if order.status not in _EVENT_TYPES:
            raise ValueError(f"an order in status {order.status.value} has no status event")
        return cls(
            event_id=f"{order.id}:{order.status.value}",
            event_type=_EVENT_TYPES[order.status],
            order_id=order.id,
            user_id=order.user_id,
            status=order.status,
            total=order.total,
            currency=order.currency,
            occurred_at=order.updated_at,
        )
