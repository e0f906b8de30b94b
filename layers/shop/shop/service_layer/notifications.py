"""Email, once per (user or order, kind), and the order status events that go with it.

Why an email goes out once:
1. Before sending, the delivery claims the email's marker with a conditional put that only
   succeeds when no marker exists (or when a claim has lapsed, below). A duplicate delivery of
   the job finds the marker and sends nothing: `sent` means done, a live `sending` claim means
   another delivery is at it, and this one retries later.
2. After SES accepts the email the marker is settled to `sent`, conditional on still holding
   the claim.
3. When SES certainly did not take the email (throttled, refused, unreachable) the claim is
   released, so the retry sends it: an SES failure is retried and the email still goes once.

The crash window: a worker that dies between SES accepting the email and the marker being
settled (killed by its timeout, say), or whose SES call timed out with no answer, leaves a
`sending` claim whose outcome nobody knows. SES has no idempotency key to ask with. The claim is
kept for a lease of 5 minutes (template EmailClaimLeaseSeconds), ten times the worker's timeout,
so a live worker is never overtaken; after that the next delivery takes it over and sends again, counted as
`EmailResentAfterUnknownOutcome`. We accept a rare duplicate there rather than a receipt that
silently never arrives; the window is the few seconds of one SES call.

Order status events (paid, payment failed, cancelled, and one per succeeded refund) are published after
the email, for the whole batch at once, and marked on the same marker; an event whose publish
failed is retried with its message, and one published but not yet marked may be published again (at least once, with a
stable `event_id` for subscribers to drop duplicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shop.domain.clock import Clock
from shop.domain.email_content import render_email
from shop.domain.jobs import SendEmail
from shop.domain.models import Order, OrderStatus, OrderStatusEvent, Refund, RefundStatus, User
from shop.errors import NeedsOperator, OutcomeUnknown, PoisonMessage, Unavailable
from shop.observability import logger, metrics
from shop.service_layer.ports import (
    EmailAlreadySent,
    EmailClaim,
    EmailInFlight,
    EmailKey,
    EmailLedger,
    EmailSender,
    OrderEventPublisher,
    OrderLedger,
    RefundReader,
    UserRepository,
)
from shop.service_layer.queue_worker import InvocationDeadline, QueueWorker

CLAIM_LEASE = timedelta(minutes=5)

# A receipt still fits an order refunded since it was paid: its job may arrive after the refund's.
_STATUSES_FOR_KIND = {
    "receipt": frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    "payment_failed": frozenset({OrderStatus.PAYMENT_FAILED}),
    "order_cancelled": frozenset({OrderStatus.CANCELLED}),
}


@dataclass(frozen=True)
class PendingStatusEvent:
    """An order status event still to publish, and the email marker that records it."""

    key: EmailKey
    event: OrderStatusEvent


class NotificationService:
    """Sends each email once and publishes the order status events that follow."""

    def __init__(
        self,
        users: UserRepository,
        orders: OrderLedger,
        ledger: EmailLedger,
        sender: EmailSender,
        events: OrderEventPublisher,
        *,
        refunds: RefundReader,
        clock: Clock,
        claim_lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self._users = users
        self._refunds = refunds
        self._orders = orders
        self._ledger = ledger
        self._sender = sender
        self._events = events
        self._clock = clock
        self._claim_lease = claim_lease

    def deliver(self, job: SendEmail) -> PendingStatusEvent | None:
        """Send the job's email unless it went out before; return the status event still to publish."""
        found = self._user_and_order(job)
        if found is None:
            logger.warning("the user is gone; the email is dropped", extra={"kind": job.kind, "user_id": job.user_id})
            metrics.add_metric(name="NotificationDroppedUserGone", unit="Count", value=1)
            return None
        user, order = found
        refund = self._refund_for(job)
        key = EmailKey(user_id=job.user_id, kind=job.kind, order_id=job.order_id, refund_id=job.refund_id)
        claim = self._ledger.claim(key, self._clock.now(), self._claim_lease)
        if isinstance(claim, EmailInFlight):
            raise Unavailable("another delivery holds the claim on this email")
        if isinstance(claim, EmailAlreadySent):
            logger.info("email already sent; not sending it again", extra={"kind": job.kind})
            metrics.add_metric(name="EmailDuplicateSuppressed", unit="Count", value=1)
            return None if claim.event_published else _status_event(key, order, refund)
        self._send(key, claim, user, order, refund)
        return _status_event(key, order, refund)

    def publish_status_events(self, pending: Sequence[PendingStatusEvent]) -> list[bool]:
        """Publish the events together; the result says, in order, which went out."""
        if not pending:
            return []
        published = self._events.publish([item.event for item in pending])
        for item, went_out in zip(pending, published, strict=True):
            if went_out:
                self._mark_published(item)
        metrics.add_metric(name="OrderEventPublished", unit="Count", value=sum(published))
        return published

    def _user_and_order(self, job: SendEmail) -> tuple[User, Order | None] | None:
        """The job's user and order, read consistently; None when the user's account is gone."""
        if job.order_id is None:
            user, order = self._users.get(job.user_id), None
        else:
            user, order = self._orders.customer_and_order(job.user_id, job.order_id)
        if user is None:
            # Both reads are consistent, so a registration that queued this job is always seen: a
            # missing user is one whose account was deleted, and no retry can bring it back.
            return None
        if job.order_id is None:
            return user, None
        if order is None:
            raise PoisonMessage(f"order {job.order_id} of user {job.user_id} does not exist")
        # A refund email fits the order whatever its status now: the refund itself is checked.
        if job.kind != "refund" and order.status not in _STATUSES_FOR_KIND[job.kind]:
            raise PoisonMessage(f"a {job.kind} email does not fit an order in status {order.status.value}")
        return user, order

    def _refund_for(self, job: SendEmail) -> Refund | None:
        if job.order_id is None or job.refund_id is None:
            return None
        refund = self._refunds.get(job.user_id, job.order_id, job.refund_id)
        if refund is None or refund.status is not RefundStatus.SUCCEEDED:
            raise PoisonMessage(f"refund {job.refund_id} of order {job.order_id} has not succeeded")
        return refund

    def _send(self, key: EmailKey, claim: EmailClaim, user: User, order: Order | None, refund: Refund | None) -> None:
        if claim.took_over:
            logger.warning("an earlier send of this email had an unknown outcome; sending again")
            metrics.add_metric(name="EmailResentAfterUnknownOutcome", unit="Count", value=1)
        try:
            message_id = self._sender.send(render_email(key.kind, user, order, refund))
        except OutcomeUnknown:
            # Keep the claim: it lapses after the lease, and only then may a delivery send again.
            raise
        except (Unavailable, NeedsOperator):
            self._ledger.release(key, claim)
            raise
        if not self._ledger.settle(key, claim, message_id, self._clock.now()):
            logger.warning("the claim was taken over while this delivery was sending", extra={"ses_id": message_id})
            metrics.add_metric(name="EmailClaimLost", unit="Count", value=1)
        logger.info("email sent", extra={"kind": key.kind, "ses_id": message_id})
        metrics.add_metric(name="EmailSent", unit="Count", value=1)

    def _mark_published(self, item: PendingStatusEvent) -> None:
        try:
            self._ledger.mark_event_published(item.key)
        except Unavailable:
            # The event is out; a redelivery may publish it once more, which subscribers tolerate.
            logger.warning("order event published but not marked", extra={"event_id": item.event.event_id})


def _status_event(key: EmailKey, order: Order | None, refund: Refund | None) -> PendingStatusEvent | None:
    if order is None:
        return None
    event = OrderStatusEvent.of(order) if refund is None else OrderStatusEvent.of_refund(order, refund)
    return PendingStatusEvent(key=key, event=event)


class NotificationBatch:
    """One invocation of the notification worker: its emails, then its status events in one go."""

    def __init__(self, worker: QueueWorker[SendEmail, PendingStatusEvent | None], service: NotificationService) -> None:
        self._worker = worker
        self._service = service
        self._delivered: list[tuple[SQSRecord, PendingStatusEvent]] = []

    def deliver(self, record: SQSRecord, lambda_context: InvocationDeadline | None = None) -> None:
        """The batch processor's record handler."""
        pending = self._worker.handle(record, lambda_context)
        if pending is not None:
            self._delivered.append((record, pending))

    def publish_status_events(self) -> list[str]:
        """Publish the batch's events; the ids of the messages whose event did not go out, to be retried."""
        published = self._service.publish_status_events([pending for _, pending in self._delivered])
        failed = [record for (record, _), went_out in zip(self._delivered, published, strict=True) if not went_out]
        for record in failed:
            self._worker.retry_later(record, "its order status event was not published")
        return [record.message_id for record in failed]
