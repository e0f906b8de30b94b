"""Refunds: staff ask, the payment worker gives the money back once, never more than was captured."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.domain.jobs import ChargeOrder, RefundOrder, SendEmail
from shop.domain.models import CreateRefundRequest, OrderStatus, Principal, RefundStatus, User
from shop.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyMismatch,
    Invalid,
    NotFound,
    PoisonMessage,
    RefundNeedsReview,
    Unavailable,
)
from shop.service_layer.notifications import NotificationService
from shop.service_layer.payments import PaymentService
from shop.service_layer.refunds import RefundExecutor, RefundService
from tests.unit.fakes import FixedClock, RecordingQueue
from tests.unit.fakes_pipeline import (
    FakePaymentGateway,
    InMemoryEmailLedger,
    InMemoryOrderLedger,
    InMemoryRefundLedger,
    RecordingEmailSender,
    RecordingEventPublisher,
    make_order,
)

SUPPORT = Principal(user_id="01STAFF000000000000000000S", roles=("support",))
CUSTOMER = Principal(user_id="01USER0000000000000000000A", roles=("customer",))
ORDER_ID = "01ORDER000000000000000000A"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def orders() -> InMemoryOrderLedger:
    orders = InMemoryOrderLedger()
    orders.put(make_order(status=OrderStatus.PAID).model_copy(update={"payment_id": "pi_1"}))
    return orders


@pytest.fixture
def refunds(orders: InMemoryOrderLedger) -> InMemoryRefundLedger:
    return InMemoryRefundLedger(orders)


@pytest.fixture
def gateway() -> FakePaymentGateway:
    gateway = FakePaymentGateway()
    # The order of 2800 was charged at this provider as pi_1.
    gateway.captured["pi_1"] = 2800
    return gateway


@pytest.fixture
def payments() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def emails() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def service(refunds: InMemoryRefundLedger, payments: RecordingQueue, clock: FixedClock) -> RefundService:
    return RefundService(refunds, payments, clock, idempotency_ttl_seconds=86400)


@pytest.fixture
def executor(
    refunds: InMemoryRefundLedger, gateway: FakePaymentGateway, emails: RecordingQueue, clock: FixedClock
) -> RefundExecutor:
    return RefundExecutor(refunds, gateway, emails, clock)


def ask(amount: int, reason: str = "damaged in transit") -> CreateRefundRequest:
    return CreateRefundRequest(amount=amount, reason=reason)


def job_of(payments: RecordingQueue) -> RefundOrder:
    job = payments.jobs[-1]
    assert isinstance(job, RefundOrder)
    return job


def order(orders: InMemoryOrderLedger) -> tuple[OrderStatus, int, int]:
    stored = orders.orders[(CUSTOMER.user_id, ORDER_ID)]
    return stored.status, stored.refunded_amount, stored.refund_reserved


def test_support_asks_for_a_partial_refund_which_is_reserved_and_queued(
    service: RefundService, orders: InMemoryOrderLedger, payments: RecordingQueue
) -> None:
    placement = service.request(SUPPORT, ORDER_ID, ask(1250), idempotency_key="k-1", correlation_id="c-1")

    assert not placement.replayed
    refund = placement.refund
    assert (refund.status, refund.amount, refund.currency, refund.payment_id) == (
        RefundStatus.PENDING,
        1250,
        "EUR",
        "pi_1",
    )
    assert refund.requested_by == SUPPORT.user_id
    assert order(orders) == (OrderStatus.PAID, 0, 1250)
    assert job_of(payments) == RefundOrder(
        order_id=ORDER_ID, user_id=CUSTOMER.user_id, refund_id=refund.id, correlation_id="c-1"
    )


@pytest.mark.parametrize("order_id", [ORDER_ID, "01NOSUCHORDER0000000000000"])
def test_a_customer_may_not_refund_and_learns_nothing_of_which_orders_exist(
    service: RefundService, payments: RecordingQueue, order_id: str
) -> None:
    with pytest.raises(Forbidden):
        service.request(CUSTOMER, order_id, ask(100), idempotency_key="k-1", correlation_id="c-1")

    assert payments.jobs == []


def test_an_unknown_order_is_not_found_for_staff(service: RefundService) -> None:
    admin = Principal(user_id="01ADMIN000000000000000000A", roles=("customer", "admin"))

    with pytest.raises(NotFound):
        service.request(admin, "01NOSUCHORDER0000000000000", ask(100), idempotency_key="k-1", correlation_id="c-1")


def test_a_refund_without_an_idempotency_key_is_refused(service: RefundService, orders: InMemoryOrderLedger) -> None:
    with pytest.raises(Invalid) as refused:
        service.request(SUPPORT, ORDER_ID, ask(100), idempotency_key=None, correlation_id="c-1")

    assert [problem.location for problem in refused.value.fields] == ["header.Idempotency-Key"]
    assert order(orders) == (OrderStatus.PAID, 0, 0)


def test_the_same_key_and_body_return_the_first_refund_and_another_body_is_refused(
    service: RefundService, orders: InMemoryOrderLedger
) -> None:
    first = service.request(SUPPORT, ORDER_ID, ask(500), idempotency_key="k-1", correlation_id="c-1")

    again = service.request(SUPPORT, ORDER_ID, ask(500), idempotency_key="k-1", correlation_id="c-2")
    with pytest.raises(IdempotencyKeyMismatch):
        service.request(SUPPORT, ORDER_ID, ask(600), idempotency_key="k-1", correlation_id="c-3")

    assert (again.replayed, again.refund.id) == (True, first.refund.id)
    assert order(orders) == (OrderStatus.PAID, 0, 500)


def test_a_refund_above_what_is_left_is_a_conflict_saying_how_much_is_left(
    service: RefundService, orders: InMemoryOrderLedger
) -> None:
    service.request(SUPPORT, ORDER_ID, ask(2000), idempotency_key="k-1", correlation_id="c-1")

    with pytest.raises(Conflict, match="only 800 "):
        service.request(SUPPORT, ORDER_ID, ask(801), idempotency_key="k-2", correlation_id="c-2")
    with pytest.raises(Conflict, match="more than the order's total"):
        service.request(SUPPORT, ORDER_ID, ask(2801), idempotency_key="k-3", correlation_id="c-3")

    assert order(orders) == (OrderStatus.PAID, 0, 2000)


def test_an_order_that_is_not_paid_cannot_be_refunded(service: RefundService, orders: InMemoryOrderLedger) -> None:
    orders.put(make_order(order_id="01ORDER000000000000000000B"))

    with pytest.raises(Conflict, match="pending_payment"):
        service.request(SUPPORT, "01ORDER000000000000000000B", ask(100), idempotency_key="k-1", correlation_id="c")


def test_a_refund_whose_job_was_not_queued_is_queued_by_the_retry_with_its_key(
    service: RefundService, payments: RecordingQueue, orders: InMemoryOrderLedger
) -> None:
    payments.down = True
    with pytest.raises(Unavailable, match="same Idempotency-Key"):
        service.request(SUPPORT, ORDER_ID, ask(300), idempotency_key="k-1", correlation_id="c-1")

    payments.down = False
    retried = service.request(SUPPORT, ORDER_ID, ask(300), idempotency_key="k-1", correlation_id="c-1")

    assert retried.replayed
    assert job_of(payments).refund_id == retried.refund.id
    assert order(orders) == (OrderStatus.PAID, 0, 300)


def test_concurrent_requests_never_reserve_more_than_the_total(
    service: RefundService, orders: InMemoryOrderLedger
) -> None:
    # Given 40 staff members refunding 100 each of an order of 2800 at once
    def request(index: int) -> bool:
        try:
            service.request(SUPPORT, ORDER_ID, ask(100), idempotency_key=f"k-{index}", correlation_id="c")
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=40) as pool:
        accepted = list(pool.map(request, range(40)))

    # Then exactly 28 were accepted
    assert accepted.count(True) == 28
    assert order(orders) == (OrderStatus.PAID, 0, 2800)


def test_the_worker_refunds_once_at_the_provider_and_the_order_is_partially_refunded(
    *,
    service: RefundService,
    executor: RefundExecutor,
    payments: RecordingQueue,
    gateway: FakePaymentGateway,
    emails: RecordingQueue,
    orders: InMemoryOrderLedger,
) -> None:
    placement = service.request(SUPPORT, ORDER_ID, ask(1250), idempotency_key="k-1", correlation_id="c-1")
    job = job_of(payments)

    refund = executor.carry_out(job)
    executor.carry_out(job)

    assert (refund.status, refund.order_status) == (RefundStatus.SUCCEEDED, OrderStatus.PARTIALLY_REFUNDED)
    assert [request.idempotency_key for request in gateway.refund_requests] == [f"refund-{placement.refund.id}"]
    assert gateway.refunded == {"pi_1": 1250}
    assert order(orders) == (OrderStatus.PARTIALLY_REFUNDED, 1250, 1250)
    # The redelivery queues the email again; the notification worker sends it once.
    assert emails.jobs == 2 * [
        SendEmail(kind="refund", user_id=CUSTOMER.user_id, order_id=ORDER_ID, refund_id=refund.id, correlation_id="c-1")
    ]


def test_refunds_that_reach_the_total_make_the_order_refunded(
    service: RefundService, executor: RefundExecutor, payments: RecordingQueue, orders: InMemoryOrderLedger
) -> None:
    for key, amount in (("k-1", 2000), ("k-2", 800)):
        service.request(SUPPORT, ORDER_ID, ask(amount), idempotency_key=key, correlation_id="c")
        executor.carry_out(job_of(payments))

    assert order(orders) == (OrderStatus.REFUNDED, 2800, 2800)
    with pytest.raises(Conflict, match="refunded; only a paid order"):
        service.request(SUPPORT, ORDER_ID, ask(1), idempotency_key="k-3", correlation_id="c")


def test_a_refund_the_provider_refuses_fails_and_frees_its_reservation_without_an_email(
    *,
    service: RefundService,
    executor: RefundExecutor,
    payments: RecordingQueue,
    gateway: FakePaymentGateway,
    emails: RecordingQueue,
    orders: InMemoryOrderLedger,
) -> None:
    # Given the provider has less left than the order thinks (a refund made in its dashboard)
    gateway.refunded["pi_1"] = 2500
    service.request(SUPPORT, ORDER_ID, ask(1000), idempotency_key="k-1", correlation_id="c")

    refund = executor.carry_out(job_of(payments))

    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "amount_too_large")
    assert order(orders) == (OrderStatus.PAID, 0, 0)
    assert emails.jobs == []


def test_a_transient_provider_fault_leaves_the_refund_pending_for_the_retry(
    service: RefundService,
    executor: RefundExecutor,
    payments: RecordingQueue,
    gateway: FakePaymentGateway,
    refunds: InMemoryRefundLedger,
) -> None:
    service.request(SUPPORT, ORDER_ID, ask(400), idempotency_key="k-1", correlation_id="c")
    gateway.refund_failures = [Unavailable("provider down")]

    with pytest.raises(Unavailable):
        executor.carry_out(job_of(payments))

    assert refunds.refunds[job_of(payments).refund_id].status is RefundStatus.PENDING
    assert executor.carry_out(job_of(payments)).status is RefundStatus.SUCCEEDED
    assert gateway.refunded == {"pi_1": 400}


def test_a_refund_still_pending_past_the_idempotency_window_is_held_for_review(
    service: RefundService, executor: RefundExecutor, payments: RecordingQueue, gateway: FakePaymentGateway,
    clock: FixedClock,
) -> None:  # fmt: skip
    service.request(SUPPORT, ORDER_ID, ask(400), idempotency_key="k-1", correlation_id="c")
    clock.advance(24 * 3600)

    with pytest.raises(RefundNeedsReview):
        executor.carry_out(job_of(payments))

    assert gateway.refund_requests == []


def test_a_job_for_a_refund_that_does_not_exist_is_poison(executor: RefundExecutor) -> None:
    with pytest.raises(PoisonMessage):
        executor.carry_out(RefundOrder(order_id=ORDER_ID, user_id=CUSTOMER.user_id, refund_id="r", correlation_id="c"))


def test_the_refund_email_goes_out_once_with_one_status_event_per_refund(
    *,
    service: RefundService,
    executor: RefundExecutor,
    payments: RecordingQueue,
    emails: RecordingQueue,
    orders: InMemoryOrderLedger,
    refunds: InMemoryRefundLedger,
    clock: FixedClock,
) -> None:
    # Given two refunds of one order carried out
    # The ledger reads the customer with the order (one Query of their partition).
    users = orders.users
    users.users[CUSTOMER.user_id] = User(
        id=CUSTOMER.user_id, email="ada@example.com", name="Ada", roles=("customer",), created_at="2026-11-26T12:00Z"
    )
    sender, events = RecordingEmailSender(), RecordingEventPublisher()
    notifications = NotificationService(
        users, orders, InMemoryEmailLedger(), sender, events, refunds=refunds, clock=clock
    )
    for key, amount in (("k-1", 1000), ("k-2", 1800)):
        service.request(SUPPORT, ORDER_ID, ask(amount, reason="late delivery"), idempotency_key=key, correlation_id="c")
        executor.carry_out(job_of(payments))

    # When every email job is delivered, its events published, and every job delivered again
    jobs = [job for job in emails.jobs if isinstance(job, SendEmail)]
    pending = [notifications.deliver(job) for job in jobs]
    notifications.publish_status_events([item for item in pending if item is not None])
    redelivered = [notifications.deliver(job) for job in jobs]

    # Then each refund has one email and one event
    assert [mail.subject for mail in sender.sent] == [
        f"Refund of EUR 10.00 for order {ORDER_ID}",
        f"Refund of EUR 18.00 for order {ORDER_ID}",
    ]
    assert "Reason: late delivery" in sender.sent[0].text
    assert [(event.event_type, event.refund_amount) for event in events.published] == [
        ("order.partially_refunded", 1000),
        ("order.refunded", 1800),
    ]
    assert len({event.event_id for event in events.published}) == 2
    assert redelivered == [None, None]


def test_a_refund_email_for_a_refund_that_has_not_succeeded_is_poison(
    service: RefundService, payments: RecordingQueue, orders: InMemoryOrderLedger, refunds: InMemoryRefundLedger,
    clock: FixedClock,
) -> None:  # fmt: skip
    # The ledger reads the customer with the order (one Query of their partition).
    users = orders.users
    notifications = NotificationService(
        users, orders, InMemoryEmailLedger(), RecordingEmailSender(), RecordingEventPublisher(), refunds=refunds,
        clock=clock,
    )  # fmt: skip
    users.users[CUSTOMER.user_id] = User(
        id=CUSTOMER.user_id, email="ada@example.com", name="Ada", roles=("customer",), created_at="2026-11-26T12:00Z"
    )
    refund = service.request(SUPPORT, ORDER_ID, ask(100), idempotency_key="k-1", correlation_id="c").refund

    with pytest.raises(PoisonMessage):
        notifications.deliver(
            SendEmail(
                kind="refund", user_id=CUSTOMER.user_id, order_id=ORDER_ID, refund_id=refund.id, correlation_id="c"
            )
        )


def test_a_charge_job_delivered_again_after_a_refund_requeues_only_the_receipt(
    *,
    service: RefundService,
    executor: RefundExecutor,
    payments: RecordingQueue,
    gateway: FakePaymentGateway,
    orders: InMemoryOrderLedger,
    clock: FixedClock,
) -> None:
    service.request(SUPPORT, ORDER_ID, ask(500), idempotency_key="k-1", correlation_id="c")
    executor.carry_out(job_of(payments))
    emails = RecordingQueue()

    charged = PaymentService(orders, gateway, emails, clock).charge_order(
        ChargeOrder(order_id=ORDER_ID, user_id=CUSTOMER.user_id, correlation_id="c")
    )

    assert charged.status is OrderStatus.PARTIALLY_REFUNDED
    assert gateway.requests == []
    assert [job.kind for job in emails.jobs if isinstance(job, SendEmail)] == ["receipt"]
