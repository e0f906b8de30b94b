"""Operators' views of every customer's orders, and the way out for an order held for review.

An order is held when its first charge attempt is older than the provider's idempotency window
(`shop.service_layer.payments`): charging again could charge twice. A person checks the provider
for a payment with `metadata.order_id`, then resolves the order: `retry` sends it back to the
payment worker (the charge attempt clock starts again), `fail` ends it in payment_failed, with its
failure email and status event.
"""

from __future__ import annotations

from shop.domain.clock import Clock
from shop.domain.jobs import ChargeOrder, SendEmail
from shop.domain.models import AdminListOrdersQuery, AdminOrderPage, AdminOrderView, ResolveOrderRequest
from shop.errors import Conflict, NotFound, Unavailable
from shop.observability import logger, metrics
from shop.service_layer.cursors import CursorCodec
from shop.service_layer.payments import count_released_units
from shop.service_layer.ports import AdminOrderStore, JobQueue


class AdminOrderService:
    """Lists and reads any customer's orders; resolves orders held for review."""

    def __init__(
        self, orders: AdminOrderStore, payments: JobQueue, notifications: JobQueue, cursors: CursorCodec, clock: Clock
    ) -> None:
        self._orders = orders
        self._payments = payments
        self._notifications = notifications
        self._cursors = cursors
        self._clock = clock

    def list(self, caller_id: str, query: AdminListOrdersQuery) -> AdminOrderPage:
        # Bound to the operator who asked and to the status, like a customer's cursor to its owner.
        scope = f"admin-orders\n{query.status.value}"
        after = None if query.cursor is None else self._cursors.decode(query.cursor, owner=caller_id, scope=scope)
        found = self._orders.by_status(query.status, limit=query.limit, after=after)
        cursor = None if found.last_key is None else self._cursors.encode(found.last_key, owner=caller_id, scope=scope)
        return AdminOrderPage(items=found.orders, next_cursor=cursor)

    def get(self, order_id: str) -> AdminOrderView:
        order = self._orders.find(order_id)
        if order is None:
            raise NotFound(f"order {order_id} was not found")
        return order

    def resolve(
        self, caller_id: str, order_id: str, request: ResolveOrderRequest, *, correlation_id: str
    ) -> AdminOrderView:
        order = self.get(order_id)
        if not order.held_for_review:
            raise Conflict(f"order {order_id} is not held for review (status {order.status.value})")
        resolved = self._orders.resolve(order, request.action, caller_id, self._clock.now())
        if resolved is None:
            raise Conflict(f"order {order_id} is no longer held for review")
        logger.info("order review resolved", extra={"order_id": order_id, "decision": request.action})
        metrics.add_metric(name="OrderReviewResolved", unit="Count", value=1)
        if request.action == "retry":
            self._send(
                self._payments, ChargeOrder(order_id=order.id, user_id=order.user_id, correlation_id=correlation_id)
            )
        else:
            count_released_units(resolved)
            self._send(
                self._notifications,
                SendEmail(
                    kind="payment_failed", user_id=order.user_id, order_id=order.id, correlation_id=correlation_id
                ),
            )
        return resolved

    def _send(self, queue: JobQueue, job: ChargeOrder | SendEmail) -> None:
        try:
            queue.send(job)
        except Unavailable:
            # The decision is stored. A retried order is back in PendingPayments, so the reconciler
            # sends its charge; a lost failure email is the lesser loss, and the metric shows it.
            logger.exception("job after a review decision not sent", extra={"job_type": job.type})
            metrics.add_metric(name="ReviewJobDeferred", unit="Count", value=1)
