"""Cancelling orders: by their owner while unpaid, and by the maintenance sweep when abandoned.

A cancel and a charge race on one item, settled by conditional writes alone
(`shop.adapters.order_ledger`): the payment worker claims a pending order before it calls the
provider, and a cancel succeeds only on a pending order that nobody claimed. So a cancelled order
is never charged, and a cancel that comes too late is a 409 that says why. The cancel puts the
order's units back in stock in the same transaction, so they go back exactly once.
"""

from __future__ import annotations

from shop.domain.clock import Clock
from shop.domain.jobs import SendEmail
from shop.domain.models import CancellationReason, Order, OrderStatus, Principal
from shop.domain.permissions import Action, Resource, authorize
from shop.errors import Conflict, NotFound
from shop.observability import logger, metrics
from shop.service_layer.payments import count_released_units
from shop.service_layer.ports import JobQueue, OrderLedger


class CancellationService:
    """Cancels pending orders that were never charged, releases their stock and mails the customer."""

    def __init__(self, orders: OrderLedger, notifications: JobQueue, clock: Clock) -> None:
        self._orders = orders
        self._notifications = notifications
        self._clock = clock

    def cancel(self, principal: Principal, order_id: str, *, correlation_id: str) -> Order:
        """Cancel the caller's order; cancelling a cancelled order again answers it as it is."""
        order = self._orders.get(principal.user_id, order_id)
        if order is None:
            raise NotFound(f"order {order_id} was not found")
        authorize(principal, Action.ORDER_CANCEL, Resource(kind="order", id=order.id, owner_id=order.user_id))
        if order.status is OrderStatus.PENDING_PAYMENT:
            order = self._cancel(order, CancellationReason.CUSTOMER)
        if order.status is not OrderStatus.CANCELLED:
            raise Conflict(_not_cancellable(order))
        # Also when it was cancelled before: this may be the retry of a call whose email job
        # was not queued, and the notification worker sends each email once.
        self._notify(order, correlation_id)
        return order

    def abandon(self, order: Order, *, correlation_id: str) -> bool:
        """Cancel a pending order nobody paid within the hold; False when it was claimed or settled meanwhile."""
        cancelled = self._cancel(order, CancellationReason.ABANDONED)
        if cancelled.status is not OrderStatus.CANCELLED:
            return False
        self._notify(cancelled, correlation_id)
        return True

    def _cancel(self, order: Order, reason: CancellationReason) -> Order:
        transition = self._orders.cancel(order, reason, self._clock.now())
        if transition.done_now:
            metrics.add_metric(name="OrderCancelled", unit="Count", value=1)
            logger.info("order cancelled", extra={"order_id": order.id, "reason": reason.value})
            count_released_units(transition.order)
        return transition.order

    def _notify(self, order: Order, correlation_id: str) -> None:
        self._notifications.send(
            SendEmail(kind="order_cancelled", user_id=order.user_id, order_id=order.id, correlation_id=correlation_id)
        )


def _not_cancellable(order: Order) -> str:
    if order.status is OrderStatus.PAID:
        return f"order {order.id} was paid, so it can no longer be cancelled"
    if order.status is OrderStatus.PENDING_PAYMENT:
        return f"order {order.id} is being paid, so it can no longer be cancelled"
    if order.status is OrderStatus.PAYMENT_FAILED:
        return f"the payment of order {order.id} failed: nothing was charged and its units are back in stock"
    return f"order {order.id} is {order.status.value}; only an order pending payment can be cancelled"
