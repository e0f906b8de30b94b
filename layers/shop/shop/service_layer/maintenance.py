"""The scheduled sweep: sends stuck orders again, cancels abandoned ones, reports dead-letter queue depths.

An order is stuck when it is still `pending_payment` a threshold after its last dispatch: its job
was never sent (the queue refused it, or dispatch was paused) or every delivery of it failed. The
sweep reads only the sparse PendingPayments index (a Query, never a Scan), and re-dispatches each
stuck order once per run. Each re-dispatch moves the order's index sort key to the run's time,
so the next runs leave it alone until another threshold has passed: running the sweep twice, or
overlapping runs, never floods the queue. A duplicate job is harmless anyway; charges are
idempotent per order (see `shop.service_layer.payments`).

An order still pending and never claimed for charging a hold after its creation (template
PendingOrderHoldSeconds) is abandoned instead: cancelled with a conditional transition that puts
its units back in stock in the same transaction (`shop.service_layer.cancellation`). An order
the payment worker has claimed is never abandoned, since the provider may be charging it; it is
sent again as before, and after the provider's idempotency window held for review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shop.domain.clock import Clock
from shop.domain.jobs import ChargeOrder
from shop.domain.models import Order, OrderStatus
from shop.errors import Unavailable
from shop.observability import NAMESPACE, SERVICE, logger, metrics
from shop.service_layer.cancellation import CancellationService
from shop.service_layer.ports import JobQueue, OrderLedger, QueueMonitor

# One run handles at most this many stuck orders; the next run, five minutes later, goes on.
MAX_ORDERS_PER_RUN = 500


@dataclass(frozen=True)
class MaintenanceReport:
    requeued_order_ids: list[str] = field(default_factory=list)
    abandoned_order_ids: list[str] = field(default_factory=list)
    dispatch_paused: bool = False
    dead_letter_depths: dict[str, int] = field(default_factory=dict)


class MaintenanceService:
    """Re-dispatches orders stuck in pending_payment and publishes the dead-letter queues' depths."""

    def __init__(
        self,
        orders: OrderLedger,
        payments: JobQueue,
        cancellations: CancellationService,
        queues: QueueMonitor,
        clock: Clock,
        *,
        stuck_after: timedelta,
        hold: timedelta,
        dead_letter_queues: Mapping[str, str],
        pause_payment_dispatch: bool,
    ) -> None:
        self._orders = orders
        self._payments = payments
        self._cancellations = cancellations
        self._queues = queues
        self._clock = clock
        self._stuck_after = stuck_after
        self._hold = hold
        self._dead_letter_queues = dead_letter_queues
        self._paused = pause_payment_dispatch

    def run(self, run_id: str) -> MaintenanceReport:
        report = MaintenanceReport(dispatch_paused=self._paused)
        if self._paused:
            # The orders wait on us, not on their customers: none is abandoned while payments are paused.
            logger.info("payment dispatch is paused; stuck orders wait")
        else:
            self._sweep_stuck_orders(run_id, report)
        report.dead_letter_depths.update(self._publish_depths())
        return report

    def _sweep_stuck_orders(self, run_id: str, report: MaintenanceReport) -> None:
        now = self._clock.now()
        stuck = self._orders.pending_before(now - self._stuck_after, MAX_ORDERS_PER_RUN)
        for key in dict.fromkeys(stuck):
            order = self._orders.get(key.user_id, key.order_id)
            # The index lags the table: an order it still lists may have been paid a moment ago.
            if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
                continue
            if self._abandoned(order, now) and self._abandon(order, run_id):
                report.abandoned_order_ids.append(order.id)
                continue
            if self._requeue(order, run_id):
                report.requeued_order_ids.append(order.id)
        metrics.add_metric(name="OrderRequeued", unit="Count", value=len(report.requeued_order_ids))

    def _abandoned(self, order: Order, now: datetime) -> bool:
        return order.charge_attempted_at is None and datetime.fromisoformat(order.created_at) < now - self._hold

    def _abandon(self, order: Order, run_id: str) -> bool:
        try:
            return self._cancellations.abandon(order, correlation_id=order.correlation_id or run_id)
        except Unavailable:
            # Contention with orders of the same skus, say: the next run tries again.
            logger.exception("abandoned order not cancelled this run", extra={"order_id": order.id})
            return False

    def _requeue(self, order: Order, run_id: str) -> bool:
        now = self._clock.now()
        # Marked before it is sent: should the send fail, the order waits one more threshold
        # rather than being sent twice by the next run.
        if not self._orders.mark_dispatched(order, now):
            return False
        correlation_id = order.correlation_id or run_id
        self._payments.send(ChargeOrder(order_id=order.id, user_id=order.user_id, correlation_id=correlation_id))
        logger.info("stuck order sent again", extra={"order_id": order.id, "created_at": order.created_at})
        return True

    def _publish_depths(self) -> dict[str, int]:
        depths = {name: self._queues.visible_messages(url) for name, url in self._dead_letter_queues.items()}
        for name, depth in depths.items():
            # One metric per queue, told apart by a dimension, so each gets its own EMF document.
            with single_metric(
                name="DeadLetterQueueDepth", unit=MetricUnit.Count, value=depth, namespace=NAMESPACE
            ) as metric:
                metric.add_dimension(name="service", value=SERVICE)
                metric.add_dimension(name="queue", value=name)
        return depths
