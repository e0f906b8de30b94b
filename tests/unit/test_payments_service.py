"""Charging an order: one charge per order, settled by a conditional transition, email job queued."""

from __future__ import annotations

import pytest

from shop.domain.jobs import ChargeOrder, SendEmail
from shop.domain.models import OrderStatus
from shop.errors import ChargeNeedsReview, PoisonMessage, Unavailable
from shop.service_layer.payments import PaymentService
from shop.service_layer.ports import ChargeRequest, Declined
from tests.unit.fakes import FixedClock, RecordingQueue
from tests.unit.fakes_pipeline import FakePaymentGateway, InMemoryOrderLedger, make_order


@pytest.fixture
def ledger() -> InMemoryOrderLedger:
    return InMemoryOrderLedger()


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway()


@pytest.fixture
def emails() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(
    ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue, clock: FixedClock
) -> PaymentService:
    return PaymentService(ledger, gateway, emails, clock)


def charge_job(order_id: str = "01ORDER000000000000000000A") -> ChargeOrder:
    return ChargeOrder(order_id=order_id, user_id="01USER0000000000000000000A", correlation_id="corr-1")


def test_a_pending_order_is_charged_once_paid_and_its_receipt_queued(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    ledger.put(make_order())

    order = service.charge_order(charge_job())

    assert order.status is OrderStatus.PAID
    assert gateway.charges == 1
    assert gateway.requests[0].idempotency_key == f"charge-{order.id}"
    assert (gateway.requests[0].amount, gateway.requests[0].currency) == (2800, "EUR")
    assert emails.jobs == [SendEmail(kind="receipt", user_id=order.user_id, order_id=order.id, correlation_id="corr-1")]


def test_a_declined_card_fails_the_order_and_queues_the_failure_notice(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    ledger.put(make_order(payment_method="pm_card_chargeDeclined"))
    gateway.script = [Declined(code="generic_decline", message="Your card was declined.", payment_id="pi_1")]

    order = service.charge_order(charge_job())

    assert order.status is OrderStatus.PAYMENT_FAILED
    assert [job.kind for job in emails.jobs if isinstance(job, SendEmail)] == ["payment_failed"]


def test_a_declined_card_puts_the_units_back_once_however_often_the_job_comes(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway
) -> None:
    ledger.catalog.stock.update({"BOOK-1": 0, "PEN": 4})
    ledger.put(make_order(payment_method="pm_card_chargeDeclined"))
    gateway.script = [Declined(code="generic_decline", message="Your card was declined.", payment_id="pi_1")]

    service.charge_order(charge_job())
    service.charge_order(charge_job())

    assert ledger.catalog.stock == {"BOOK-1": 2, "PEN": 5}


def test_a_paid_order_keeps_its_units(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway
) -> None:
    ledger.catalog.stock.update({"BOOK-1": 0, "PEN": 4})
    ledger.put(make_order())

    service.charge_order(charge_job())

    assert ledger.catalog.stock == {"BOOK-1": 0, "PEN": 4}


def test_a_cancelled_order_is_never_charged(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    ledger.put(make_order(status=OrderStatus.CANCELLED))

    order = service.charge_order(charge_job())

    assert order.status is OrderStatus.CANCELLED
    assert gateway.requests == []
    assert [job.kind for job in emails.jobs if isinstance(job, SendEmail)] == ["order_cancelled"]


def test_second_delivery_of_a_paid_order_charges_nothing_and_requeues_only_its_email(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    ledger.put(make_order())
    service.charge_order(charge_job())

    service.charge_order(charge_job())

    assert len(gateway.requests) == 1
    assert [job.kind for job in emails.jobs if isinstance(job, SendEmail)] == ["receipt", "receipt"]


def test_a_crash_between_charge_and_settlement_is_completed_by_the_redelivery_without_a_second_charge(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    # Given the first delivery charged the order, then its worker died before settling it
    order = make_order()
    ledger.put(order)
    gateway.charge(ChargeRequest.for_order(order))

    # When the message is delivered again
    settled = service.charge_order(charge_job())

    # Then the provider replays the first charge and the order is paid
    assert settled.status is OrderStatus.PAID
    assert gateway.charges == 1
    assert len(emails.jobs) == 1


def test_a_transient_provider_failure_leaves_the_order_pending_for_the_retry(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, emails: RecordingQueue
) -> None:
    ledger.put(make_order())
    gateway.script = [Unavailable("provider down")]

    with pytest.raises(Unavailable):
        service.charge_order(charge_job())

    assert (
        ledger.orders[("01USER0000000000000000000A", "01ORDER000000000000000000A")].status
        is OrderStatus.PENDING_PAYMENT
    )
    assert emails.jobs == []
    assert service.charge_order(charge_job()).status is OrderStatus.PAID


def test_an_order_first_tried_beyond_the_idempotency_window_is_held_for_review_not_charged(
    service: PaymentService, ledger: InMemoryOrderLedger, gateway: FakePaymentGateway, clock: FixedClock
) -> None:
    ledger.put(make_order())
    gateway.script = [Unavailable("provider down")]
    with pytest.raises(Unavailable):
        service.charge_order(charge_job())
    clock.advance(24 * 3600)

    with pytest.raises(ChargeNeedsReview):
        service.charge_order(charge_job())

    assert len(gateway.requests) == 1
    assert "01ORDER000000000000000000A" in ledger.held
    assert ledger.pending_before(clock.now(), 10) == []


def test_a_job_for_an_order_that_does_not_exist_is_poison(service: PaymentService) -> None:
    with pytest.raises(PoisonMessage):
        service.charge_order(charge_job("01MISSING00000000000000000"))
