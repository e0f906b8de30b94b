"""The scheduled sweep: stuck orders dispatched again once, fresh ones left alone, dead letters counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.domain.jobs import ChargeOrder, SendEmail
from shop.domain.models import CancellationReason, OrderStatus
from shop.service_layer.cancellation import CancellationService
from shop.service_layer.maintenance import MaintenanceService
from tests.unit.fakes import FixedClock, RecordingQueue
from tests.unit.fakes_pipeline import FixedQueueDepths, InMemoryOrderLedger, make_order

STUCK = "01ORDERSTUCK00000000000000"
FRESH = "01ORDERFRESH00000000000000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ledger(clock: FixedClock) -> InMemoryOrderLedger:
    ledger = InMemoryOrderLedger()
    ledger.put(make_order(order_id=STUCK, created_at="2026-11-26T11:00:00.000Z"))
    ledger.put(make_order(order_id=FRESH, created_at="2026-11-26T11:58:00.000Z"))
    ledger.put(
        make_order(
            order_id="01ORDERPAID000000000000000", status=OrderStatus.PAID, created_at="2026-11-26T10:00:00.000Z"
        )
    )
    return ledger


@pytest.fixture
def payments() -> RecordingQueue:
    return RecordingQueue()


def make_service(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock, *, paused: bool = False
) -> MaintenanceService:
    return MaintenanceService(
        ledger,
        payments,
        CancellationService(ledger, payments, clock),
        FixedQueueDepths({"https://dlq/payments": 2}),
        clock,
        stuck_after=timedelta(minutes=15),
        hold=timedelta(hours=2),
        dead_letter_queues={"payments": "https://dlq/payments", "notifications": "https://dlq/notifications"},
        pause_payment_dispatch=paused,
    )


def test_a_stuck_order_is_dispatched_again_and_a_fresh_one_is_left_alone(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    report = make_service(ledger, payments, clock).run("run-1")

    assert report.requeued_order_ids == [STUCK]
    assert payments.jobs == [ChargeOrder(order_id=STUCK, user_id=make_order().user_id, correlation_id="corr-1")]


def test_a_second_run_does_not_dispatch_the_same_order_again_until_another_threshold_passes(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    service = make_service(ledger, payments, clock)
    service.run("run-1")
    clock.advance(5 * 60)

    assert service.run("run-2").requeued_order_ids == []

    # Oldest dispatch first: the fresh order's creation (11:58) before the stuck one's re-dispatch (12:00)
    clock.advance(15 * 60)
    assert service.run("run-3").requeued_order_ids == [FRESH, STUCK]


def test_an_order_never_charged_past_the_hold_is_cancelled_once_and_its_units_released(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    # Given the stuck order (placed 11:00) is still unpaid past the two-hour hold
    ledger.catalog.stock.update({"BOOK-1": 0, "PEN": 0})
    clock.advance(3600 + 60)
    service = make_service(ledger, payments, clock)

    # When the sweep runs twice
    first = service.run("run-1")
    second = service.run("run-2")

    # Then it is cancelled as abandoned by the first run only, with its units back and its email queued
    order = ledger.orders[(make_order().user_id, STUCK)]
    assert first.abandoned_order_ids == [STUCK] and second.abandoned_order_ids == []
    assert order.status is OrderStatus.CANCELLED and order.cancellation_reason is CancellationReason.ABANDONED
    assert ledger.catalog.stock == {"BOOK-1": 2, "PEN": 1}
    assert [job for job in payments.jobs if isinstance(job, SendEmail)] == [
        SendEmail(kind="order_cancelled", user_id=order.user_id, order_id=STUCK, correlation_id="corr-1")
    ]


def test_an_order_claimed_by_the_payment_worker_is_never_abandoned_but_sent_again(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    ledger.begin_charge(make_order().user_id, STUCK, clock.now())
    clock.advance(3600 + 60)

    report = make_service(ledger, payments, clock).run("run-1")

    assert report.abandoned_order_ids == [] and STUCK in report.requeued_order_ids
    assert ledger.orders[(make_order().user_id, STUCK)].status is OrderStatus.PENDING_PAYMENT


def test_nothing_is_dispatched_while_payment_dispatch_is_paused(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    report = make_service(ledger, payments, clock, paused=True).run("run-1")

    assert report.dispatch_paused
    assert payments.jobs == []


def test_each_run_reports_the_dead_letter_queue_depths(
    ledger: InMemoryOrderLedger, payments: RecordingQueue, clock: FixedClock
) -> None:
    report = make_service(ledger, payments, clock).run("run-1")

    assert report.dead_letter_depths == {"payments": 2, "notifications": 0}
