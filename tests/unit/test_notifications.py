"""Each email once per (user or order, kind), and the order status events that follow it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shop.domain.jobs import SendEmail, serialize_job
from shop.domain.models import OrderStatus, User
from shop.errors import Misconfigured, OutcomeUnknown, PoisonMessage, Unavailable
from shop.observability import metrics
from shop.service_layer.notifications import CLAIM_LEASE, NotificationBatch, NotificationService
from shop.service_layer.queue_worker import QueueWorker
from tests.support.sqs_events import sqs_event, sqs_message
from tests.unit.fakes import FixedClock, InMemoryUsers
from tests.unit.fakes_pipeline import (
    InMemoryEmailLedger,
    InMemoryOrderLedger,
    InMemoryRefundLedger,
    RecordingEmailSender,
    RecordingEventPublisher,
    RecordingRedelivery,
    make_order,
)

USER = User(
    id="01USER0000000000000000000A",
    email="ada@example.com",
    name="Ada <Lovelace>",
    roles=("customer",),
    created_at="2026-11-26T12:00:00.000Z",
)


@pytest.fixture
def users() -> InMemoryUsers:
    users = InMemoryUsers()
    users.users[USER.id] = USER
    return users


@pytest.fixture
def orders(users: InMemoryUsers) -> InMemoryOrderLedger:
    return InMemoryOrderLedger(users=users)


@pytest.fixture
def ledger() -> InMemoryEmailLedger:
    return InMemoryEmailLedger()


@pytest.fixture
def sender() -> RecordingEmailSender:
    return RecordingEmailSender()


@pytest.fixture
def events() -> RecordingEventPublisher:
    return RecordingEventPublisher()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def service(
    *,
    users: InMemoryUsers,
    orders: InMemoryOrderLedger,
    ledger: InMemoryEmailLedger,
    sender: RecordingEmailSender,
    events: RecordingEventPublisher,
    clock: FixedClock,
) -> NotificationService:
    return NotificationService(users, orders, ledger, sender, events, refunds=InMemoryRefundLedger(orders), clock=clock)


def welcome() -> SendEmail:
    return SendEmail(kind="welcome", user_id=USER.id, correlation_id="c-1")


def receipt(order_id: str = "01ORDER000000000000000000A") -> SendEmail:
    return SendEmail(kind="receipt", user_id=USER.id, order_id=order_id, correlation_id="c-1")


def test_a_welcome_email_is_sent_once_however_often_its_job_arrives(
    service: NotificationService, sender: RecordingEmailSender
) -> None:
    assert service.deliver(welcome()) is None
    assert service.deliver(welcome()) is None

    [mail] = sender.sent
    assert mail.to == USER.email
    assert "Ada <Lovelace>" in mail.text
    assert "Ada &lt;Lovelace&gt;" in mail.html


def test_a_receipt_is_sent_for_a_paid_order_and_yields_its_status_event(
    service: NotificationService, orders: InMemoryOrderLedger, sender: RecordingEmailSender
) -> None:
    orders.put(make_order(status=OrderStatus.PAID))

    pending = service.deliver(receipt())

    assert [mail.subject for mail in sender.sent] == ["Receipt for order 01ORDER000000000000000000A"]
    assert "EUR 28.00" in sender.sent[0].text
    assert pending is not None
    assert (pending.event.event_type, pending.event.user_id) == ("order.paid", USER.id)


def test_a_receipt_for_an_order_that_is_not_paid_is_poison(
    service: NotificationService, orders: InMemoryOrderLedger
) -> None:
    orders.put(make_order(status=OrderStatus.PAYMENT_FAILED))

    with pytest.raises(PoisonMessage):
        service.deliver(receipt())


def test_an_ses_failure_releases_the_claim_so_the_retry_sends_the_email_once(
    service: NotificationService, sender: RecordingEmailSender
) -> None:
    sender.failures = [Unavailable("SES throttled")]

    with pytest.raises(Unavailable):
        service.deliver(welcome())
    service.deliver(welcome())
    service.deliver(welcome())

    assert len(sender.sent) == 1


def test_a_refusing_ses_releases_the_claim_and_reports_the_configuration_fault(
    service: NotificationService, ledger: InMemoryEmailLedger, sender: RecordingEmailSender
) -> None:
    sender.failures = [Misconfigured("sender not verified")]

    with pytest.raises(Misconfigured):
        service.deliver(welcome())

    assert ledger.markers == {}


def test_a_send_with_an_unknown_outcome_keeps_its_claim_until_the_lease_lapses_then_sends_again(
    service: NotificationService, sender: RecordingEmailSender, clock: FixedClock
) -> None:
    # Given a send that timed out with no answer from SES
    sender.failures = [OutcomeUnknown("no answer")]
    with pytest.raises(OutcomeUnknown):
        service.deliver(welcome())

    # When a retry comes within the lease, it sends nothing and retries later
    with pytest.raises(Unavailable):
        service.deliver(welcome())
    assert sender.sent == []

    # Then a retry after the lease takes the claim over and sends
    clock.advance(CLAIM_LEASE.total_seconds() + 1)
    service.deliver(welcome())
    assert len(sender.sent) == 1


def test_the_claim_lease_is_the_one_the_service_was_given(
    *,
    users: InMemoryUsers,
    orders: InMemoryOrderLedger,
    ledger: InMemoryEmailLedger,
    sender: RecordingEmailSender,
    events: RecordingEventPublisher,
    clock: FixedClock,
) -> None:
    # Given a service with a 20 s lease and a send whose outcome is unknown
    service = NotificationService(
        users,
        orders,
        ledger,
        sender,
        events,
        refunds=InMemoryRefundLedger(orders),
        clock=clock,
        claim_lease=timedelta(seconds=20),
    )
    sender.failures = [OutcomeUnknown("no answer")]
    with pytest.raises(OutcomeUnknown):
        service.deliver(welcome())

    # When a retry comes just inside the lease, then one just after it
    clock.advance(19)
    with pytest.raises(Unavailable):
        service.deliver(welcome())
    clock.advance(2)
    service.deliver(welcome())

    # Then only the second one sent
    assert len(sender.sent) == 1


def test_an_event_whose_publish_failed_is_returned_again_by_the_redelivery_without_a_second_email(
    service: NotificationService,
    orders: InMemoryOrderLedger,
    sender: RecordingEmailSender,
    events: RecordingEventPublisher,
) -> None:
    orders.put(make_order(status=OrderStatus.PAID))
    events.refuse = {"01ORDER000000000000000000A"}
    first = service.deliver(receipt())
    assert first is not None
    assert service.publish_status_events([first]) == [False]

    events.refuse = set()
    again = service.deliver(receipt())
    assert again is not None
    assert service.publish_status_events([again]) == [True]

    assert service.deliver(receipt()) is None
    assert len(sender.sent) == 1
    assert [event.event_id for event in events.published] == ["01ORDER000000000000000000A:paid"]


def test_a_batch_publishes_its_events_together_and_reports_the_messages_whose_event_failed(
    service: NotificationService, orders: InMemoryOrderLedger, events: RecordingEventPublisher
) -> None:
    # Given three deliveries in one batch, one of whose events the topic refuses
    for order_id in ("01ORDER000000000000000000A", "01ORDER000000000000000000B", "01ORDER000000000000000000C"):
        orders.put(make_order(order_id=order_id, status=OrderStatus.PAID))
    events.refuse = {"01ORDER000000000000000000B"}
    redelivery = RecordingRedelivery()
    worker = QueueWorker(SendEmail, service.deliver, redelivery, time_needed_ms=0, delay=lambda count: 10)
    batch = NotificationBatch(worker, service)
    messages = [sqs_message(serialize_job(receipt(order_id))) for order_id in sorted({o for _, o in orders.orders})]
    records = [SQSRecord(record) for record in sqs_event("notification_worker", messages)["Records"]]

    # When the batch runs and publishes
    for record in records:
        batch.deliver(record)
    unpublished = batch.publish_status_events()

    # Then one publish call carried all three, and only the refused one is retried
    assert events.calls == [3]
    assert unpublished == [records[1].message_id]
    assert redelivery.retries == [(records[1].message_id, 10)]


def test_an_email_for_a_user_who_is_gone_is_dropped_with_a_metric_not_retried(
    service: NotificationService, users: InMemoryUsers, orders: InMemoryOrderLedger, sender: RecordingEmailSender
) -> None:
    # Given the user's account was deleted after their order was paid
    orders.put(make_order(status=OrderStatus.PAID))
    del users.users[USER.id]
    redelivery = RecordingRedelivery()
    worker = QueueWorker(SendEmail, service.deliver, redelivery, time_needed_ms=0, delay=lambda count: 10)
    [record] = [
        SQSRecord(r) for r in sqs_event("notification_worker", [sqs_message(serialize_job(receipt()))])["Records"]
    ]
    metrics.clear_metrics()

    # When the receipt job arrives
    outcome = worker.handle(record)

    # Then it is done with: nothing sent, nothing retried or parked, and the drop counted
    assert outcome is None
    assert sender.sent == []
    assert (redelivery.retries, redelivery.dead_letters) == ([], [])
    assert metrics.metric_set["NotificationDroppedUserGone"]["Value"] == [1.0]
    metrics.clear_metrics()


def test_a_receipt_whose_order_was_refunded_since_is_still_sent_with_the_paid_event(
    service: NotificationService, orders: InMemoryOrderLedger, sender: RecordingEmailSender
) -> None:
    orders.put(make_order(status=OrderStatus.PARTIALLY_REFUNDED))

    pending = service.deliver(receipt())

    assert [mail.subject for mail in sender.sent] == ["Receipt for order 01ORDER000000000000000000A"]
    assert pending is not None
    assert (pending.event.event_type, pending.event.status) == ("order.paid", OrderStatus.PAID)
