"""Refunds: staff ask for money back on a paid order; the payment worker gives it back once.

Why the refunds of an order never add up to more than it captured:
1. A request reserves its amount on the order in the same DynamoDB transaction that stores the
   pending refund and its Idempotency-Key, conditional on the order being refundable and on the
   reservation staying within the total (`shop.adapters.refund_ledger`). Of concurrent requests
   only those that fit are stored; the rest are a 409 that says how much is left.
2. The payment worker refunds at the provider with the key `refund-<refund_id>`, so every retry
   of one refund is the same refund there; the provider also refuses more than the remainder.
3. Success adds the amount to the order's refunded amount and moves it to `partially_refunded`
   or `refunded`; a refusal frees the reservation. Both are one transaction, conditional on the
   refund still being pending, so a redelivered job changes nothing twice.
4. Like charges, a refund still pending past the provider's 24-hour memory of idempotency keys
   is not sent again automatically but held for a person to check at the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shop.domain.clock import Clock, isoformat
from shop.domain.ids import new_ulid
from shop.domain.jobs import RefundOrder, SendEmail
from shop.domain.models import (
    REFUNDABLE_STATUSES,
    CreateRefundRequest,
    Order,
    Principal,
    Refund,
    RefundStatus,
)
from shop.domain.permissions import Action, Resource, authorize
from shop.errors import (
    Conflict,
    FieldProblem,
    IdempotencyKeyMismatch,
    Invalid,
    NotFound,
    PoisonMessage,
    RefundNeedsReview,
    Unavailable,
)
from shop.observability import logger, metrics
from shop.service_layer.idempotency import fingerprint, valid_idempotency_key
from shop.service_layer.payments import IDEMPOTENCY_WINDOW
from shop.service_layer.ports import (
    JobQueue,
    PaymentGateway,
    Refunded,
    RefundIdempotencyRecord,
    RefundKeyTaken,
    RefundLedger,
    RefundNotReserved,
    RefundRequest,
)


@dataclass(frozen=True)
class RefundPlacement:
    refund: Refund
    # True when an earlier request with the same Idempotency-Key asked for this refund.
    replayed: bool


class RefundService:
    """Takes refund requests from staff and hands them to the payment worker."""

    def __init__(
        self, refunds: RefundLedger, payments: JobQueue, clock: Clock, *, idempotency_ttl_seconds: int
    ) -> None:
        self._refunds = refunds
        self._payments = payments
        self._clock = clock
        self._idempotency_ttl = idempotency_ttl_seconds

    def request(
        self,
        principal: Principal,
        order_id: str,
        request: CreateRefundRequest,
        *,
        idempotency_key: str | None,
        correlation_id: str,
    ) -> RefundPlacement:
        # Before the order is read: a caller who may not refund learns nothing of which orders exist.
        authorize(principal, Action.ORDER_REFUND)
        key = _required_idempotency_key(idempotency_key)
        order = self._refunds.find_order(order_id)
        if order is None:
            raise NotFound(f"order {order_id} was not found")
        authorize(principal, Action.ORDER_REFUND, Resource(kind="order", id=order.id, owner_id=order.user_id))
        now = self._clock.now()
        refund = Refund(
            id=new_ulid(now),
            order_id=order.id,
            user_id=order.user_id,
            amount=request.amount,
            currency=order.currency,
            reason=request.reason,
            status=RefundStatus.PENDING,
            requested_by=principal.user_id,
            payment_id=order.payment_id or "",
            created_at=isoformat(now),
            updated_at=isoformat(now),
            correlation_id=correlation_id,
        )
        record = RefundIdempotencyRecord(
            key=key,
            refund_id=refund.id,
            fingerprint=fingerprint(request),
            expires_at=int(now.timestamp()) + self._idempotency_ttl,
        )
        if request.amount > order.total:
            raise Conflict(f"the refund of {request.amount} is more than the order's total of {order.total}")
        try:
            self._refunds.reserve(order, refund, record)
        except RefundKeyTaken as taken:
            return RefundPlacement(refund=self._replay(order, request, taken.record), replayed=True)
        except RefundNotReserved as refused:
            raise _not_refundable(refused.order or order, request.amount) from refused
        metrics.add_metric(name="RefundRequested", unit="Count", value=1)
        logger.info("refund requested", extra={"order_id": order.id, "refund_id": refund.id, "amount": refund.amount})
        self._dispatch(refund)
        return RefundPlacement(refund=refund, replayed=False)

    def _replay(self, order: Order, request: CreateRefundRequest, record: RefundIdempotencyRecord) -> Refund:
        if record.fingerprint != fingerprint(request):
            raise IdempotencyKeyMismatch("this Idempotency-Key was already used with a different request body")
        refund = self._refunds.get(order.user_id, order.id, record.refund_id)
        if refund is None:
            raise Unavailable(f"refund {record.refund_id} is not readable yet")
        if refund.status is RefundStatus.PENDING:
            # The first request may have stored the refund and failed to queue its job: a retry
            # queues it again, and the worker carries out each refund once however often it is queued.
            self._dispatch(refund)
        return refund

    def _dispatch(self, refund: Refund) -> None:
        job = RefundOrder(
            order_id=refund.order_id,
            user_id=refund.user_id,
            refund_id=refund.id,
            correlation_id=refund.correlation_id or refund.id,
        )
        try:
            self._payments.send(job)
        except Unavailable as exc:
            raise Unavailable(
                f"refund {refund.id} is recorded but not yet queued; retry with the same Idempotency-Key"
            ) from exc


class RefundExecutor:
    """The payment worker's half: refunds at the provider once, settles the refund, queues its email."""

    def __init__(self, refunds: RefundLedger, gateway: PaymentGateway, notifications: JobQueue, clock: Clock) -> None:
        self._refunds = refunds
        self._gateway = gateway
        self._notifications = notifications
        self._clock = clock

    def carry_out(self, job: RefundOrder) -> Refund:
        found = self._refunds.get_with_order(job.user_id, job.order_id, job.refund_id)
        if found is None:
            raise PoisonMessage(f"refund {job.refund_id} of order {job.order_id} does not exist")
        refund, order = found
        if refund.status is RefundStatus.PENDING:
            refund = self._execute(refund, order)
        else:
            logger.info("refund already settled; nothing to do", extra={"status": refund.status.value})
        if refund.status is RefundStatus.SUCCEEDED:
            # Also for a refund settled earlier: queueing its email may be the step a crash skipped,
            # and the notification worker sends each email once however often it is queued.
            self._notifications.send(
                SendEmail(
                    kind="refund",
                    user_id=refund.user_id,
                    order_id=refund.order_id,
                    refund_id=refund.id,
                    correlation_id=job.correlation_id,
                )
            )
        return refund

    def _execute(self, refund: Refund, order: Order) -> Refund:
        if self._clock.now() - datetime.fromisoformat(refund.created_at) > IDEMPOTENCY_WINDOW:
            raise RefundNeedsReview(
                f"refund {refund.id} is pending past the provider's idempotency window; "
                f"check the provider for metadata.refund_id before settling it"
            )
        outcome = self._gateway.refund(
            RefundRequest(
                refund_id=refund.id,
                order_id=refund.order_id,
                payment_id=refund.payment_id,
                amount=refund.amount,
                reason=refund.reason,
            )
        )
        if isinstance(outcome, Refunded):
            settled = self._refunds.complete(refund, order, outcome, self._clock.now())
            metrics.add_metric(name="RefundSucceeded", unit="Count", value=1)
            logger.info("refund succeeded", extra={"provider_refund_id": outcome.provider_refund_id})
            return settled
        settled = self._refunds.release(refund, outcome, self._clock.now())
        metrics.add_metric(name="RefundFailed", unit="Count", value=1)
        logger.warning("refund refused by the provider", extra={"code": outcome.code, "reason": outcome.message})
        return settled


def _not_refundable(order: Order, amount: int) -> Conflict:
    if order.status not in REFUNDABLE_STATUSES:
        return Conflict(f"order {order.id} is {order.status.value}; only a paid order can be refunded")
    left = order.total - order.refund_reserved
    return Conflict(f"only {left} of order {order.id} can still be refunded; {amount} was asked")


def _required_idempotency_key(key: str | None) -> str:
    if key is None:
        problem = FieldProblem(location="header.Idempotency-Key", message="Field required")
        raise Invalid("a refund needs an Idempotency-Key header, so a retried request never refunds twice", [problem])
    return valid_idempotency_key(key)
