"""Cancelling an order: only the owner's unpaid, unclaimed order; units back once; the race with the charge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.domain.jobs import ChargeOrder, SendEmail
from shop.domain.models import CancellationReason, OrderStatus, Principal
from shop.errors import Conflict, Forbidden, NotFound
from shop.service_layer.cancellation import CancellationService
from shop.service_layer.payments import PaymentService
from tests.unit.fakes import FixedClock, RecordingQueue
from tests.unit.fakes_pipeline import FakePaymentGateway, InMemoryOrderLedger, make_order

OWNER = Principal(user_id=make_order().user_id, roles=("customer",))
ORDER_ID = make_order().id


@pytest.fixture
def ledger() -> InMemoryOrderLedger:
    ledger = InMemoryOrderLedger()
    ledger.catalog.stock.update({"BOOK-1": 0, "PEN": 0})
    return ledger


@pytest.fixture
def emails() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(ledger: InMemoryOrderLedger, emails: RecordingQueue, clock: FixedClock) -> CancellationService:
    return CancellationService(ledger, emails, clock)


def test_cancelling_a_pending_order_cancels_it_releases_its_units_and_queues_its_email(
    service: CancellationService, ledger: InMemoryOrderLedger, emails: RecordingQueue
) -> None:
    ledger.put(make_order())

    order = service.cancel(OWNER, ORDER_ID, correlation_id="req-1")

    assert order.status is OrderStatus.CANCELLED and order.cancellation_reason is CancellationReason.CUSTOMER
    assert ledger.catalog.stock == {"BOOK-1": 2, "PEN": 1}
    assert emails.jobs == [
        SendEmail(kind="order_cancelled", user_id=OWNER.user_id, order_id=ORDER_ID, correlation_id="req-1")
    ]


def test_cancelling_twice_answers_the_cancelled_order_and_releases_the_units_once(
    service: CancellationService, ledger: InMemoryOrderLedger
) -> None:
    ledger.put(make_order())
    service.cancel(OWNER, ORDER_ID, correlation_id="req-1")

    again = service.cancel(OWNER, ORDER_ID, correlation_id="req-2")

    assert again.status is OrderStatus.CANCELLED
    assert ledger.catalog.stock == {"BOOK-1": 2, "PEN": 1}


def test_cancelling_a_paid_order_is_a_conflict_saying_it_was_paid(
    service: CancellationService, ledger: InMemoryOrderLedger, emails: RecordingQueue
) -> None:
    ledger.put(make_order(status=OrderStatus.PAID))

    with pytest.raises(Conflict, match="was paid"):
        service.cancel(OWNER, ORDER_ID, correlation_id="req-1")

    assert ledger.catalog.stock == {"BOOK-1": 0, "PEN": 0} and emails.jobs == []


def test_an_order_the_payment_worker_claimed_can_no_longer_be_cancelled(
    service: CancellationService, ledger: InMemoryOrderLedger, clock: FixedClock
) -> None:
    ledger.put(make_order())
    ledger.begin_charge(OWNER.user_id, ORDER_ID, clock.now())

    with pytest.raises(Conflict, match="being paid"):
        service.cancel(OWNER, ORDER_ID, correlation_id="req-1")

    assert ledger.orders[(OWNER.user_id, ORDER_ID)].status is OrderStatus.PENDING_PAYMENT


def test_another_customers_order_is_not_found(service: CancellationService, ledger: InMemoryOrderLedger) -> None:
    ledger.put(make_order())

    with pytest.raises(NotFound):
        service.cancel(
            Principal(user_id="01STRANGER0000000000000000", roles=("customer",)), ORDER_ID, correlation_id="r"
        )

    assert ledger.orders[(OWNER.user_id, ORDER_ID)].status is OrderStatus.PENDING_PAYMENT


def test_a_caller_without_the_customer_role_is_forbidden(
    service: CancellationService, ledger: InMemoryOrderLedger
) -> None:
    ledger.put(make_order())

    with pytest.raises(Forbidden):
        service.cancel(Principal(user_id=OWNER.user_id, roles=()), ORDER_ID, correlation_id="r")


@pytest.mark.parametrize("round_", range(30))
def test_a_cancel_racing_the_charge_ends_cancelled_and_uncharged_or_paid_and_kept(
    ledger: InMemoryOrderLedger, emails: RecordingQueue, clock: FixedClock, round_: int
) -> None:
    # Given one pending order, a customer cancelling it and a payment worker charging it at once
    ledger.put(make_order())
    gateway = FakePaymentGateway()
    payments = PaymentService(ledger, gateway, emails, clock)
    cancels = CancellationService(ledger, emails, clock)

    def cancel() -> str:
        try:
            cancels.cancel(OWNER, ORDER_ID, correlation_id=f"c{round_}")
        except Conflict:
            return "refused"
        return "cancelled"

    with ThreadPoolExecutor(max_workers=2) as pool:
        cancelled = pool.submit(cancel)
        pool.submit(payments.charge_order, ChargeOrder(order_id=ORDER_ID, user_id=OWNER.user_id, correlation_id="p"))

    # Then exactly one side won: cancelled and never charged, or paid and the cancel refused
    order = ledger.orders[(OWNER.user_id, ORDER_ID)]
    if cancelled.result() == "cancelled":
        assert order.status is OrderStatus.CANCELLED and gateway.requests == []
        assert ledger.catalog.stock == {"BOOK-1": 2, "PEN": 1}
    else:
        assert order.status is OrderStatus.PAID and gateway.charges == 1
        assert ledger.catalog.stock == {"BOOK-1": 0, "PEN": 0}
