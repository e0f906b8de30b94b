"""Charging orders: one charge per order, however often and however late its job is delivered.

Why a charge happens at most once:
1. Every attempt at one order sends the same request with the same idempotency key
   (`charge-<order_id>`); the provider executes the first and replays its answer, a decline
   included, to every later attempt.
2. Before the provider is called, one conditional write claims the order (`charge_attempted_at`,
   set only while it is pending) and returns it; a settled or cancelled order is not charged,
   and a settled one only has its email job queued again. A cancel requires that no claim
   exists, so a cancelled order is never charged and a claimed one is never cancelled.
3. Settling is one conditional write (`status = pending_payment`), so of two racing deliveries
   one settles and the other reads the result. A decline puts the order's units back in stock
   in the same transaction.
4. The provider forgets idempotency keys after 24 hours. The first attempt's time is stored on
   the order, and an order still pending 23 hours after it (a redrive from the dead-letter queue,
   say) is not charged again automatically but held for a person to check against the provider.
"""

from __future__ import annotations

from datetime import timedelta

from shop.domain.clock import Clock
from shop.domain.jobs import ChargeOrder, EmailKind, SendEmail
from shop.domain.models import Order, OrderStatus
from shop.errors import ChargeNeedsReview, PoisonMessage
from shop.observability import logger, metrics
from shop.service_layer.ports import Charged, ChargeRequest, ChargeStart, JobQueue, OrderLedger, PaymentGateway

# Stripe keeps an idempotency key for at least 24 hours; an hour of margin for clock skew and
# for an attempt that starts just before the limit.
IDEMPOTENCY_WINDOW = timedelta(hours=23)

# A refunded order was paid: a charge job delivered again after its refunds still queues the receipt.
_EMAIL_FOR_STATUS: dict[OrderStatus, EmailKind] = {
    OrderStatus.PAID: "receipt",
    OrderStatus.PARTIALLY_REFUNDED: "receipt",
    OrderStatus.REFUNDED: "receipt",
    OrderStatus.PAYMENT_FAILED: "payment_failed",
    OrderStatus.CANCELLED: "order_cancelled",
}


class PaymentService:
    """Charges an order once and settles it, then queues the email its final status calls for."""

    def __init__(self, orders: OrderLedger, gateway: PaymentGateway, notifications: JobQueue, clock: Clock) -> None:
        self._orders = orders
        self._gateway = gateway
        self._notifications = notifications
        self._clock = clock

    def charge_order(self, job: ChargeOrder) -> Order:
        claimed = self._orders.begin_charge(job.user_id, job.order_id, self._clock.now())
        if claimed is None:
            raise PoisonMessage(f"order {job.order_id} of user {job.user_id} does not exist")
        if isinstance(claimed, ChargeStart):
            order = self._charge(claimed)
        else:
            order = claimed
            logger.info("order no longer pending; nothing to charge", extra={"status": order.status.value})
            metrics.add_metric(name="PaymentAlreadySettled", unit="Count", value=1)
        kind = _EMAIL_FOR_STATUS.get(order.status)
        if kind is not None:
            # Also for an order settled earlier: queueing its email may be the step a crash
            # skipped, and the notification worker sends each email once however often it is queued.
            self._notifications.send(
                SendEmail(kind=kind, user_id=order.user_id, order_id=order.id, correlation_id=job.correlation_id)
            )
        return order

    def _charge(self, claimed: ChargeStart) -> Order:
        order, first_attempt = claimed.order, claimed.first_attempt
        if self._clock.now() - first_attempt > IDEMPOTENCY_WINDOW:
            reason = f"first charge attempt at {first_attempt.isoformat()} is past the provider's idempotency window"
            self._orders.hold_for_review(order, reason)
            raise ChargeNeedsReview(f"order {order.id}: {reason}; check the provider for metadata.order_id")
        outcome = self._gateway.charge(ChargeRequest.for_order(order))
        settled = self._orders.settle(order, outcome, self._clock.now())
        if isinstance(outcome, Charged):
            metrics.add_metric(name="PaymentSucceeded", unit="Count", value=1)
            logger.info("payment succeeded", extra={"payment_id": outcome.payment_id})
        else:
            metrics.add_metric(name="PaymentDeclined", unit="Count", value=1)
            logger.info("payment declined", extra={"decline_code": outcome.code, "payment_id": outcome.payment_id})
            if settled.done_now:
                count_released_units(settled.order)
        return settled.order


def count_released_units(order: Order) -> None:
    """The StockReleased metric: units that went back to stock when the order left pending_payment."""
    units = sum(line.quantity for line in order.items)
    metrics.add_metric(name="StockReleased", unit="Count", value=units)
    logger.info("stock released", extra={"order_id": order.id, "units": units, "status": order.status.value})
