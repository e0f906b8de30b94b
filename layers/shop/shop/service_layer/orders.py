"""Placing, reading and listing orders.

The client names products and quantities; names and prices come from the catalog, snapshotted on
the order's lines. The order, its idempotency record and one conditional stock decrement per line
are one DynamoDB transaction, with a check per line that the product still has the version whose
price was snapshotted: stock never goes below zero, two customers never get the same last unit,
and nobody pays a price that changed under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.domain.clock import Clock, isoformat
from shop.domain.ids import new_ulid
from shop.domain.jobs import ChargeOrder
from shop.domain.models import (
    MAX_ORDER_TOTAL,
    CreateOrderRequest,
    ListOrdersQuery,
    Order,
    OrderLine,
    OrderPage,
    OrderStatus,
    OrderView,
)
from shop.errors import FieldProblem, IdempotencyKeyMismatch, Invalid, NotFound, OutOfStock, Unavailable
from shop.observability import logger, metrics
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.idempotency import fingerprint, valid_idempotency_key
from shop.service_layer.ports import (
    IdempotencyKeyTaken,
    IdempotencyRecord,
    JobQueue,
    OrderRepository,
    ProductCatalog,
    ProductSnapshot,
)


@dataclass(frozen=True)
class Placement:
    order: Order
    # True when an earlier request with the same Idempotency-Key created the order.
    replayed: bool


class OrderService:
    """Orders of one user at a time; the payment itself happens in the payment worker."""

    def __init__(
        self,
        orders: OrderRepository,
        catalog: ProductCatalog,
        payments: JobQueue,
        cursors: CursorCodec,
        clock: Clock,
        *,
        idempotency_ttl_seconds: int,
        pause_payment_dispatch: bool,
    ) -> None:
        self._orders = orders
        self._catalog = catalog
        self._payments = payments
        self._cursors = cursors
        self._clock = clock
        self._idempotency_ttl = idempotency_ttl_seconds
        self._pause_dispatch = pause_payment_dispatch

    def place(
        self, user_id: str, request: CreateOrderRequest, *, idempotency_key: str | None, correlation_id: str
    ) -> Placement:
        products = self._catalog.snapshots([line.sku for line in request.items])
        try:
            lines = _priced_lines(request, products)
        except Invalid:
            # The retry of an order placed before its product was withdrawn still gets that order.
            replay = self._earlier_placement(user_id, request, idempotency_key)
            if replay is None:
                raise
            return replay
        total = sum(line.quantity * line.unit_price for line in lines)
        if total > MAX_ORDER_TOTAL:
            raise Invalid(f"the order total {total} exceeds the maximum of {MAX_ORDER_TOTAL}")
        now = self._clock.now()
        stamp = isoformat(now)
        order = Order(
            id=new_ulid(now),
            user_id=user_id,
            status=OrderStatus.PENDING_PAYMENT,
            items=lines,
            currency=request.currency,
            total=total,
            payment_method=request.payment_method,
            created_at=stamp,
            updated_at=stamp,
            correlation_id=correlation_id,
        )
        record = None
        if idempotency_key is not None:
            record = IdempotencyRecord(
                key=valid_idempotency_key(idempotency_key),
                order_id=order.id,
                fingerprint=fingerprint(request),
                expires_at=int(now.timestamp()) + self._idempotency_ttl,
            )
        try:
            self._orders.add(order, record, products)
        except IdempotencyKeyTaken as taken:
            return Placement(order=self._replay(user_id, request, taken.record), replayed=True)
        except OutOfStock as short:
            metrics.add_metric(name="OutOfStock", unit="Count", value=1)
            logger.info("order refused: out of stock", extra={"skus": [s.sku for s in short.shortages]})
            raise
        metrics.add_metric(name="OrderCreated", unit="Count", value=1)
        self._dispatch(order)
        return Placement(order=order, replayed=False)

    def get(self, user_id: str, order_id: str) -> Order:
        order = self._orders.get(user_id, order_id)
        if order is None:
            raise NotFound(f"order {order_id} was not found")
        return order

    def list(self, user_id: str, query: ListOrdersQuery) -> OrderPage:
        scope = query.status.value if query.status else "all"
        after = None if query.cursor is None else self._cursors.decode(query.cursor, owner=user_id, scope=scope)
        found = self._orders.list(user_id, status=query.status, limit=query.limit, after=after)
        cursor = None
        if found.last_key is not None:
            cursor = self._cursors.encode(found.last_key, owner=user_id, scope=scope)
        return OrderPage(items=[OrderView.of(order) for order in found.orders], next_cursor=cursor)

    def _earlier_placement(
        self, user_id: str, request: CreateOrderRequest, idempotency_key: str | None
    ) -> Placement | None:
        if idempotency_key is None:
            return None
        record = self._orders.idempotency_record(user_id, valid_idempotency_key(idempotency_key))
        return None if record is None else Placement(order=self._replay(user_id, request, record), replayed=True)

    def _replay(self, user_id: str, request: CreateOrderRequest, record: IdempotencyRecord) -> Order:
        if record.fingerprint != fingerprint(request):
            raise IdempotencyKeyMismatch("this Idempotency-Key was already used with a different request body")
        # Consistent: a fast retry may arrive before an eventually consistent read sees the order.
        order = self._orders.get(user_id, record.order_id, consistent=True)
        if order is None:
            raise NotFound(f"order {record.order_id} was not found")
        return order

    def _dispatch(self, order: Order) -> None:
        if self._pause_dispatch:
            logger.info("payment dispatch paused; the reconciler will send the job", extra={"order_id": order.id})
            return
        job = ChargeOrder(order_id=order.id, user_id=order.user_id, correlation_id=order.correlation_id or order.id)
        try:
            self._payments.send(job)
        except Unavailable:
            # The order is stored and stays pending_payment; the scheduled reconciler re-sends
            # jobs for orders pending past its threshold, so failing the request here would only
            # invite a client retry that creates a second order.
            logger.exception("payment job not sent; left for the reconciler", extra={"order_id": order.id})
            metrics.add_metric(name="PaymentJobDeferred", unit="Count", value=1)


def _priced_lines(request: CreateOrderRequest, products: dict[str, ProductSnapshot]) -> tuple[OrderLine, ...]:
    problems: list[FieldProblem] = []
    lines: list[OrderLine] = []
    for index, line in enumerate(request.items):
        product = products.get(line.sku)
        problem = None
        if product is None:
            problem = f"there is no product with sku {line.sku}"
        elif not product.active:
            problem = f"product {line.sku} is no longer sold"
        elif product.currency != request.currency:
            problem = f"product {line.sku} is priced in {product.currency}, the order is in {request.currency}"
        else:
            lines.append(OrderLine(sku=line.sku, name=product.name, quantity=line.quantity, unit_price=product.price))
        if problem is not None:
            problems.append(FieldProblem(location=f"body.items.{index}.sku", message=problem))
    if problems:
        named = "; ".join(f"{p.location.removeprefix('body.')}: {p.message}" for p in problems)
        raise Invalid(f"some lines cannot be ordered: {named}", problems)
    return tuple(lines)
