from __future__ import annotations

import pytest

from shop.adapters.signing_keys import StaticSigningKey
from shop.domain.jobs import ChargeOrder
from shop.domain.models import CreateOrderRequest, ListOrdersQuery, OrderLineRequest, OrderStatus
from shop.errors import (
    AccountGone,
    Conflict,
    IdempotencyKeyMismatch,
    Invalid,
    MalformedRequest,
    NotFound,
    OutOfStock,
    Shortage,
)
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.orders import OrderService
from tests.unit.fakes import FixedClock, InMemoryCatalog, InMemoryOrders, RecordingQueue


@pytest.fixture
def catalog() -> InMemoryCatalog:
    catalog = InMemoryCatalog()
    catalog.add("BOOK-1", 1250, name="A book", stock=10)
    catalog.add("PEN", 300, name="A pen", stock=5)
    return catalog


@pytest.fixture
def orders(catalog: InMemoryCatalog) -> InMemoryOrders:
    return InMemoryOrders(catalog)


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(orders: InMemoryOrders, queue: RecordingQueue, clock: FixedClock) -> OrderService:
    return make_service(orders, queue, clock)


def make_service(
    orders: InMemoryOrders, queue: RecordingQueue, clock: FixedClock, *, paused: bool = False
) -> OrderService:
    return OrderService(
        orders,
        orders.catalog,
        queue,
        CursorCodec(StaticSigningKey(b"s" * 32)),
        clock,
        idempotency_ttl_seconds=86400,
        pause_payment_dispatch=paused,
    )


def order_request(quantity: int = 2, *, pen: int = 1, currency: str = "EUR") -> CreateOrderRequest:
    return CreateOrderRequest.model_validate(
        {
            "items": [{"sku": "BOOK-1", "quantity": quantity}, {"sku": "PEN", "quantity": pen}],
            "currency": currency,
            "payment_method": "pm_card_visa",
        }
    )


def test_placing_an_order_prices_it_from_the_catalog_and_enqueues_one_charge(
    service: OrderService, queue: RecordingQueue
) -> None:
    placement = service.place("u1", order_request(), idempotency_key=None, correlation_id="req-1")

    assert placement.order.total == 2 * 1250 + 300
    assert [(line.sku, line.name, line.unit_price) for line in placement.order.items] == [
        ("BOOK-1", "A book", 1250),
        ("PEN", "A pen", 300),
    ]
    assert placement.order.status is OrderStatus.PENDING_PAYMENT
    assert queue.jobs == [ChargeOrder(order_id=placement.order.id, user_id="u1", correlation_id="req-1")]


def test_placing_an_order_takes_its_units_from_stock(service: OrderService, catalog: InMemoryCatalog) -> None:
    service.place("u1", order_request(quantity=3, pen=5), idempotency_key=None, correlation_id="r")

    assert catalog.stock == {"BOOK-1": 7, "PEN": 0}


def test_the_order_keeps_the_price_it_was_placed_at_when_the_catalog_changes(
    service: OrderService, orders: InMemoryOrders, catalog: InMemoryCatalog
) -> None:
    placed = service.place("u1", order_request(), idempotency_key=None, correlation_id="r").order

    catalog.change("BOOK-1", price=9999, name="A dearer book")

    stored = orders.get("u1", placed.id)
    assert stored is not None and stored.items[0].unit_price == 1250 and stored.items[0].name == "A book"


def test_more_units_than_in_stock_is_out_of_stock_naming_each_short_sku_and_takes_nothing(
    service: OrderService, orders: InMemoryOrders, catalog: InMemoryCatalog, queue: RecordingQueue
) -> None:
    with pytest.raises(OutOfStock) as refused:
        service.place("u1", order_request(quantity=12, pen=6), idempotency_key=None, correlation_id="r")

    assert refused.value.shortages == (Shortage("BOOK-1", 12, 10), Shortage("PEN", 6, 5))
    assert [shortage.short_by for shortage in refused.value.shortages] == [2, 1]
    assert catalog.stock == {"BOOK-1": 10, "PEN": 5}
    assert orders.orders == {} and queue.jobs == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.products.pop("PEN"), "there is no product with sku PEN"),
        (lambda c: c.change("PEN", active=False), "product PEN is no longer sold"),
        (lambda c: c.change("PEN", currency="USD"), "product PEN is priced in USD, the order is in EUR"),
    ],
)
def test_a_line_the_catalog_cannot_sell_is_invalid_naming_the_line(
    service: OrderService, orders: InMemoryOrders, catalog: InMemoryCatalog, change: object, message: str
) -> None:
    change(catalog)  # type: ignore[operator]

    with pytest.raises(Invalid) as refused:
        service.place("u1", order_request(), idempotency_key=None, correlation_id="r")

    assert [(f.location, f.message) for f in refused.value.fields] == [("body.items.1.sku", message)]
    assert "items.1.sku" in refused.value.detail
    assert orders.orders == {} and catalog.stock["BOOK-1"] == 10


def test_a_product_changed_between_the_read_and_the_write_is_a_conflict(
    orders: InMemoryOrders, queue: RecordingQueue, clock: FixedClock, catalog: InMemoryCatalog
) -> None:
    class ChangingCatalog:
        def snapshots(self, skus: object) -> object:
            read = catalog.snapshots(skus)  # type: ignore[arg-type]
            catalog.change("BOOK-1", price=1300)
            return read

    service = OrderService(
        orders,
        ChangingCatalog(),  # type: ignore[arg-type]
        queue,
        CursorCodec(StaticSigningKey(b"s" * 32)),
        clock,
        idempotency_ttl_seconds=86400,
        pause_payment_dispatch=False,
    )

    with pytest.raises(Conflict):
        service.place("u1", order_request(), idempotency_key=None, correlation_id="r")

    assert orders.orders == {} and catalog.stock["BOOK-1"] == 10


def test_a_total_above_the_chargeable_maximum_is_invalid(
    service: OrderService, orders: InMemoryOrders, catalog: InMemoryCatalog
) -> None:
    catalog.add("CAR", 10_000_000, stock=1000)
    request = CreateOrderRequest(
        items=[OrderLineRequest(sku="CAR", quantity=10)], currency="EUR", payment_method="pm_card_visa"
    )

    with pytest.raises(Invalid):
        service.place("u1", request, idempotency_key=None, correlation_id="r")

    assert orders.orders == {}


def test_a_retried_post_with_the_same_key_returns_the_first_order_and_sends_one_job(
    service: OrderService, queue: RecordingQueue, orders: InMemoryOrders
) -> None:
    first = service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r1")

    again = service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r2")

    assert again.replayed and again.order.id == first.order.id
    assert len(orders.orders) == 1 and len(queue.jobs) == 1
    assert orders.catalog.stock["BOOK-1"] == 8


def test_a_replay_reads_the_order_strongly_consistently(service: OrderService, orders: InMemoryOrders) -> None:
    first = service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r1")

    service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r2")

    assert orders.reads == [(first.order.id, True)]


def test_a_replay_returns_the_order_even_after_its_product_was_withdrawn(
    service: OrderService, catalog: InMemoryCatalog
) -> None:
    first = service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r1")
    catalog.change("PEN", active=False)

    again = service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r2")

    assert again.replayed and again.order.id == first.order.id


def test_the_same_key_with_another_body_is_refused_without_a_second_order(
    service: OrderService, orders: InMemoryOrders
) -> None:
    service.place("u1", order_request(), idempotency_key="key-1", correlation_id="r1")

    with pytest.raises(IdempotencyKeyMismatch):
        service.place("u1", order_request(quantity=3), idempotency_key="key-1", correlation_id="r2")

    assert len(orders.orders) == 1


def test_keys_are_scoped_to_their_user(service: OrderService, orders: InMemoryOrders) -> None:
    service.place("u1", order_request(), idempotency_key="shared", correlation_id="r1")

    other = service.place("u2", order_request(), idempotency_key="shared", correlation_id="r2")

    assert not other.replayed and len(orders.orders) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tinside"])
def test_a_malformed_idempotency_key_is_invalid(service: OrderService, key: str) -> None:
    with pytest.raises(Invalid):
        service.place("u1", order_request(), idempotency_key=key, correlation_id="r")


def test_when_the_queue_is_down_the_order_is_kept_for_the_reconciler(
    service: OrderService, queue: RecordingQueue, orders: InMemoryOrders
) -> None:
    queue.down = True

    placement = service.place("u1", order_request(), idempotency_key=None, correlation_id="r")

    assert orders.get("u1", placement.order.id) is not None
    assert placement.order.status is OrderStatus.PENDING_PAYMENT


def test_paused_dispatch_accepts_orders_without_sending_jobs(
    orders: InMemoryOrders, queue: RecordingQueue, clock: FixedClock
) -> None:
    service = make_service(orders, queue, clock, paused=True)

    service.place("u1", order_request(), idempotency_key=None, correlation_id="r")

    assert len(orders.orders) == 1 and queue.jobs == []


def test_another_users_order_is_not_found(service: OrderService) -> None:
    placed = service.place("u1", order_request(), idempotency_key=None, correlation_id="r").order

    with pytest.raises(NotFound):
        service.get("u2", placed.id)


def test_listing_pages_newest_first_and_filters_by_status(service: OrderService, clock: FixedClock) -> None:
    ids = []
    for _ in range(5):
        ids.append(service.place("u1", order_request(), idempotency_key=None, correlation_id="r").order.id)
        clock.advance(1)

    first = service.list("u1", ListOrdersQuery(limit=2))
    second = service.list("u1", ListOrdersQuery(limit=2, cursor=first.next_cursor))
    third = service.list("u1", ListOrdersQuery(limit=2, cursor=second.next_cursor))
    paid = service.list("u1", ListOrdersQuery(status=OrderStatus.PAID))

    assert [o.id for o in first.items + second.items + third.items] == list(reversed(ids))
    assert third.next_cursor is None
    assert paid.items == []


def test_a_cursor_cannot_be_replayed_by_another_user_or_query(service: OrderService, clock: FixedClock) -> None:
    for _ in range(3):
        service.place("u1", order_request(), idempotency_key=None, correlation_id="r")
        clock.advance(1)
    cursor = service.list("u1", ListOrdersQuery(limit=1)).next_cursor
    assert cursor is not None

    with pytest.raises(MalformedRequest):
        service.list("u2", ListOrdersQuery(limit=1, cursor=cursor))
    with pytest.raises(MalformedRequest):
        service.list("u1", ListOrdersQuery(limit=1, cursor=cursor, status=OrderStatus.PAID))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-2] + "AA",
        lambda c: "e30." + c.split(".")[1],
        lambda c: "garbage",
        lambda c: "\U000aad5e\xf1n.\xb3\xc3",
    ],
)
def test_a_tampered_cursor_is_malformed(service: OrderService, clock: FixedClock, mangle: object) -> None:
    for _ in range(2):
        service.place("u1", order_request(), idempotency_key=None, correlation_id="r")
        clock.advance(1)
    cursor = service.list("u1", ListOrdersQuery(limit=1)).next_cursor
    assert cursor is not None

    with pytest.raises(MalformedRequest):
        service.list("u1", ListOrdersQuery(limit=1, cursor=mangle(cursor)))  # type: ignore[operator]


@pytest.mark.parametrize("key", [None, "key-1"], ids=["without a key", "with an Idempotency-Key"])
def test_a_principal_whose_account_is_gone_places_no_order(
    service: OrderService, orders: InMemoryOrders, queue: RecordingQueue, key: str | None
) -> None:
    orders.deleted_accounts.add("u1")

    with pytest.raises(AccountGone):
        service.place("u1", order_request(), idempotency_key=key, correlation_id="r")

    assert (orders.orders, orders.keys, queue.jobs) == ({}, {}, [])
