"""In-memory fakes of the payment and notification pipeline's ports, with the adapters' contracts."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shop.domain.models import (
    REFUNDABLE_STATUSES,
    CancellationReason,
    Order,
    OrderStatus,
    OrderStatusEvent,
    Refund,
    RefundStatus,
    User,
)
from shop.errors import Unavailable
from shop.service_layer.ports import (
    Charged,
    ChargeOutcome,
    ChargeRequest,
    ChargeStart,
    ClaimResult,
    EmailAlreadySent,
    EmailClaim,
    EmailInFlight,
    EmailKey,
    EmailMessage,
    PendingOrderKey,
    ReceivedMessage,
    Refunded,
    RefundIdempotencyRecord,
    RefundKeyTaken,
    RefundNotReserved,
    RefundOutcome,
    RefundRefused,
    RefundRequest,
    Transition,
)
from tests.unit.fakes import InMemoryCatalog, InMemoryUsers


class InMemoryOrderLedger:
    """Orders with the DynamoDB ledger's conditions: only a pending order is changed, a claimed one never cancelled."""

    def __init__(self, catalog: InMemoryCatalog | None = None, users: InMemoryUsers | None = None) -> None:
        self.catalog = catalog or InMemoryCatalog()
        self.users = users or InMemoryUsers()
        self.orders: dict[tuple[str, str], Order] = {}
        self.dispatched_at: dict[str, datetime] = {}
        self.held: dict[str, str] = {}
        self.down = False
        self._lock = threading.RLock()

    def put(self, order: Order) -> None:
        self.orders[(order.user_id, order.id)] = order
        self.dispatched_at[order.id] = datetime.fromisoformat(order.created_at)

    def get(self, user_id: str, order_id: str) -> Order | None:
        self._check()
        return self.orders.get((user_id, order_id))

    def customer_and_order(self, user_id: str, order_id: str) -> tuple[User | None, Order | None]:
        self._check()
        return self.users.get(user_id), self.orders.get((user_id, order_id))

    def begin_charge(self, user_id: str, order_id: str, at: datetime) -> ChargeStart | Order | None:
        with self._lock:
            self._check()
            order = self.orders.get((user_id, order_id))
            if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
                return order
            if order.charge_attempted_at is None:
                order = order.model_copy(update={"charge_attempted_at": _stamp(at)})
                self.orders[(user_id, order_id)] = order
            assert order.charge_attempted_at is not None
            return ChargeStart(order=order, first_attempt=datetime.fromisoformat(order.charge_attempted_at))

    def settle(self, order: Order, outcome: ChargeOutcome, at: datetime) -> Transition:
        status = OrderStatus.PAID if isinstance(outcome, Charged) else OrderStatus.PAYMENT_FAILED
        return self._leave_pending(order, status, at, release=status is OrderStatus.PAYMENT_FAILED, claimed_ok=True)

    def cancel(self, order: Order, reason: CancellationReason, at: datetime) -> Transition:
        return self._leave_pending(
            order, OrderStatus.CANCELLED, at, release=True, claimed_ok=False, cancellation_reason=reason
        )

    def _leave_pending(
        self, order: Order, status: OrderStatus, at: datetime, *, release: bool, claimed_ok: bool, **extra: object
    ) -> Transition:
        with self._lock:
            self._check()
            stored = self.orders[(order.user_id, order.id)]
            claimed = stored.charge_attempted_at is not None
            if stored.status is not OrderStatus.PENDING_PAYMENT or (claimed and not claimed_ok):
                return Transition(order=stored, done_now=False)
            changed = stored.model_copy(update={"status": status, "updated_at": _stamp(at), **extra})
            self.orders[(order.user_id, order.id)] = changed
            self.dispatched_at.pop(order.id, None)
            if release:
                self.catalog.release(changed)
            return Transition(order=changed, done_now=True)

    def hold_for_review(self, order: Order, reason: str) -> None:
        if self._pending(order):
            self.held[order.id] = reason
            self.dispatched_at.pop(order.id, None)

    def pending_before(self, cutoff: datetime, limit: int) -> list[PendingOrderKey]:
        self._check()
        stuck = sorted((at, order_id) for order_id, at in self.dispatched_at.items() if at < cutoff)
        owners = {order_id: user_id for user_id, order_id in self.orders}
        return [PendingOrderKey(user_id=owners[order_id], order_id=order_id) for _, order_id in stuck[:limit]]

    def mark_dispatched(self, order: Order, at: datetime) -> bool:
        if not self._pending(order):
            return False
        self.dispatched_at[order.id] = at
        return True

    def _pending(self, order: Order) -> bool:
        self._check()
        stored = self.orders.get((order.user_id, order.id))
        return stored is not None and stored.status is OrderStatus.PENDING_PAYMENT

    def _check(self) -> None:
        if self.down:
            raise Unavailable("ledger down")


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakePaymentGateway:
    """A provider with Stripe's idempotency: the first answer to a key is replayed to every retry.

    Refunds are held to what each charge captured, as Stripe holds them: more than the
    remainder, or a payment it never captured, is refused.
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, ChargeOutcome] = {}
        self.requests: list[ChargeRequest] = []
        # Outcomes or errors for the next calls, in order; after them, `Charged`.
        self.script: list[ChargeOutcome | Exception] = []
        self.captured: dict[str, int] = {}
        self.refunded: dict[str, int] = {}
        self.refund_outcomes: dict[str, RefundOutcome] = {}
        self.refund_requests: list[RefundRequest] = []
        # Errors for the next refund calls, in order.
        self.refund_failures: list[Exception] = []
        self._ids = itertools.count(1)

    @property
    def charges(self) -> int:
        """How many charges the provider executed (replays excluded)."""
        return len(self.outcomes)

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        self.requests.append(request)
        if request.idempotency_key in self.outcomes:
            return self.outcomes[request.idempotency_key]
        planned = self.script.pop(0) if self.script else Charged(payment_id=f"pi_{next(self._ids)}")
        if isinstance(planned, Exception):
            raise planned
        self.outcomes[request.idempotency_key] = planned
        if isinstance(planned, Charged):
            self.captured[planned.payment_id] = request.amount
        return planned

    def refund(self, request: RefundRequest) -> RefundOutcome:
        self.refund_requests.append(request)
        if self.refund_failures:
            raise self.refund_failures.pop(0)
        if request.idempotency_key in self.refund_outcomes:
            return self.refund_outcomes[request.idempotency_key]
        outcome = self._execute_refund(request)
        self.refund_outcomes[request.idempotency_key] = outcome
        return outcome

    def _execute_refund(self, request: RefundRequest) -> RefundOutcome:
        captured = self.captured.get(request.payment_id)
        if captured is None:
            return RefundRefused(code="charge_not_refundable", message="no successful charge to refund")
        remainder = captured - self.refunded.get(request.payment_id, 0)
        if request.amount > remainder:
            return RefundRefused(code="amount_too_large", message=f"only {remainder} is left to refund")
        self.refunded[request.payment_id] = self.refunded.get(request.payment_id, 0) + request.amount
        return Refunded(provider_refund_id=f"re_{next(self._ids)}")


@dataclass
class _Marker:
    state: str
    token: str
    claimed_at: datetime
    event_published: bool = False


class InMemoryEmailLedger:
    """Email markers with the DynamoDB ledger's conditions and lease."""

    def __init__(self) -> None:
        self.markers: dict[EmailKey, _Marker] = {}
        self._tokens = itertools.count(1)

    def claim(self, key: EmailKey, at: datetime, lease: timedelta) -> ClaimResult:
        marker = self.markers.get(key)
        if marker is not None and marker.state == "sent":
            return EmailAlreadySent(event_published=marker.event_published)
        if marker is not None and marker.claimed_at >= at - lease:
            return EmailInFlight()
        token = f"token-{next(self._tokens)}"
        self.markers[key] = _Marker(state="sending", token=token, claimed_at=at)
        return EmailClaim(token=token, took_over=marker is not None)

    def settle(self, key: EmailKey, claim: EmailClaim, message_id: str, at: datetime) -> bool:
        marker = self.markers.get(key)
        if marker is None or marker.state != "sending" or marker.token != claim.token:
            return False
        marker.state = "sent"
        return True

    def release(self, key: EmailKey, claim: EmailClaim) -> None:
        marker = self.markers.get(key)
        if marker is not None and marker.state == "sending" and marker.token == claim.token:
            del self.markers[key]

    def mark_event_published(self, key: EmailKey) -> None:
        marker = self.markers.get(key)
        if marker is not None and marker.state == "sent":
            marker.event_published = True


class RecordingEmailSender:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        # Errors for the next sends, in order.
        self.failures: list[Exception] = []

    def send(self, message: EmailMessage) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return f"ses-{len(self.sent)}"


class RecordingEventPublisher:
    def __init__(self) -> None:
        self.published: list[OrderStatusEvent] = []
        self.calls: list[int] = []
        self.refuse: set[str] = set()

    def publish(self, events: Sequence[OrderStatusEvent]) -> list[bool]:
        self.calls.append(len(events))
        results = [event.order_id not in self.refuse for event in events]
        self.published += [event for event, went_out in zip(events, results, strict=True) if went_out]
        return results


@dataclass
class RecordingRedelivery:
    retries: list[tuple[str, int]] = field(default_factory=list)
    dead_letters: list[tuple[ReceivedMessage, str]] = field(default_factory=list)
    dead_letter_queue_down: bool = False

    def retry_after(self, message: ReceivedMessage, seconds: int) -> None:
        self.retries.append((message.message_id, seconds))

    def dead_letter(self, message: ReceivedMessage, reason: str) -> None:
        if self.dead_letter_queue_down:
            raise Unavailable("dead-letter queue down")
        self.dead_letters.append((message, reason))


@dataclass
class FixedQueueDepths:
    depths: dict[str, int] = field(default_factory=dict)

    def visible_messages(self, queue_url: str) -> int:
        return self.depths.get(queue_url, 0)


def make_order(
    *,
    user_id: str = "01USER0000000000000000000A",
    order_id: str = "01ORDER000000000000000000A",
    status: OrderStatus = OrderStatus.PENDING_PAYMENT,
    payment_method: str = "pm_card_visa",
    created_at: str = "2026-11-26T12:00:00.000Z",
) -> Order:
    """An order of two items, EUR 28.00, as `OrderService.place` stores it."""
    return Order.model_validate(
        {
            "id": order_id,
            "user_id": user_id,
            "status": status,
            "items": [
                {"sku": "BOOK-1", "name": "A book", "quantity": 2, "unit_price": 1250},
                {"sku": "PEN", "name": "A pen", "quantity": 1, "unit_price": 300},
            ],
            "currency": "EUR",
            "total": 2800,
            "payment_method": payment_method,
            "created_at": created_at,
            "updated_at": created_at,
            "correlation_id": "corr-1",
        }
    )


class InMemoryRefundLedger:
    """Refunds with the DynamoDB ledger's conditions: reservations within the total, settled once."""

    def __init__(self, orders: InMemoryOrderLedger) -> None:
        self.orders = orders
        self.refunds: dict[str, Refund] = {}
        self.keys: dict[tuple[str, str], RefundIdempotencyRecord] = {}
        self._lock = threading.Lock()

    def find_order(self, order_id: str) -> Order | None:
        return next((order for (_, found), order in self.orders.orders.items() if found == order_id), None)

    def reserve(self, order: Order, refund: Refund, record: RefundIdempotencyRecord) -> None:
        with self._lock:
            taken = self.keys.get((order.id, record.key))
            if taken is not None:
                raise RefundKeyTaken(taken)
            stored = self.orders.orders.get((order.user_id, order.id))
            if (
                stored is None
                or stored.status not in REFUNDABLE_STATUSES
                or stored.refund_reserved + refund.amount > stored.total
            ):
                raise RefundNotReserved(stored)
            self.orders.orders[(order.user_id, order.id)] = stored.model_copy(
                update={"refund_reserved": stored.refund_reserved + refund.amount}
            )
            self.refunds[refund.id] = refund
            self.keys[(order.id, record.key)] = record

    def get(self, user_id: str, order_id: str, refund_id: str) -> Refund | None:
        found = self.refunds.get(refund_id)
        return found if found is not None and (found.user_id, found.order_id) == (user_id, order_id) else None

    def idempotency_record(self, user_id: str, order_id: str, key: str) -> RefundIdempotencyRecord | None:
        return self.keys.get((order_id, key))

    def get_with_order(self, user_id: str, order_id: str, refund_id: str) -> tuple[Refund, Order] | None:
        refund = self.get(user_id, order_id, refund_id)
        order = self.orders.orders.get((user_id, order_id))
        return None if refund is None or order is None else (refund, order)

    def complete(self, refund: Refund, order: Order, outcome: Refunded, at: datetime) -> Refund:
        with self._lock:
            stored = self.refunds[refund.id]
            if stored.status is not RefundStatus.PENDING:
                return stored
            order = self.orders.orders[(refund.user_id, refund.order_id)]
            refunded = order.refunded_amount + refund.amount
            status = OrderStatus.REFUNDED if refunded >= order.total else OrderStatus.PARTIALLY_REFUNDED
            self.orders.orders[(order.user_id, order.id)] = order.model_copy(
                update={"refunded_amount": refunded, "status": status}
            )
            settled = stored.model_copy(
                update={
                    "status": RefundStatus.SUCCEEDED,
                    "provider_refund_id": outcome.provider_refund_id,
                    "order_status": status,
                    "updated_at": _stamp(at),
                }
            )
            self.refunds[refund.id] = settled
            return settled

    def release(self, refund: Refund, outcome: RefundRefused, at: datetime) -> Refund:
        with self._lock:
            stored = self.refunds[refund.id]
            if stored.status is not RefundStatus.PENDING:
                return stored
            order = self.orders.orders[(refund.user_id, refund.order_id)]
            self.orders.orders[(order.user_id, order.id)] = order.model_copy(
                update={"refund_reserved": order.refund_reserved - refund.amount}
            )
            settled = stored.model_copy(
                update={"status": RefundStatus.FAILED, "failure_code": outcome.code, "updated_at": _stamp(at)}
            )
            self.refunds[refund.id] = settled
            return settled
