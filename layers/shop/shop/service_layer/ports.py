"""The domain's ports: what it needs from storage and messaging, as narrow protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from shop.domain.jobs import ChargeOrder, EmailKind, SendEmail
from shop.domain.models import CancellationReason, Credential, Order, OrderStatus, OrderStatusEvent, User

DynamoKey = dict[str, dict[str, str]]


@dataclass(frozen=True)
class IdempotencyRecord:
    """Which order a client's Idempotency-Key created, and from which request."""

    key: str
    order_id: str
    fingerprint: str
    expires_at: int


@dataclass(frozen=True)
class OrderSlice:
    orders: list[Order]
    last_key: DynamoKey | None


class IdempotencyKeyTaken(Exception):
    """Another request stored this key first; `record` is what it stored."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


@dataclass(frozen=True)
class ProductSnapshot:
    """A product as an order reads it from the catalog: what it costs now, and at which version."""

    sku: str
    name: str
    price: int
    currency: str
    active: bool
    version: int


class ProductCatalog(Protocol):
    """The catalog as orders read it."""

    def snapshots(self, skus: Sequence[str]) -> dict[str, ProductSnapshot]:
        """The products of these skus that exist (a strongly consistent read); unknown skus are left out."""


class UserRepository(Protocol):
    """Users and their credentials."""

    def add(self, user: User, credential: Credential) -> None:
        """Store both or neither; raise `Conflict` when the email is taken."""

    def get(self, user_id: str) -> User | None: ...

    def credential_for(self, email: str) -> Credential | None: ...

    def replace_password_hash(self, credential: Credential, new_hash: str) -> None:
        """Store a stronger hash, unless the stored one changed meanwhile."""


@dataclass(frozen=True)
class LoginFailureLimit:
    """At most `failures` failed logins per email in a fixed window of `window_seconds`."""

    failures: int
    window_seconds: int


@dataclass(frozen=True)
class AttemptAdmitted:
    """The attempt is counted in the email's window that opened at `window_start` (epoch seconds)."""

    email: str
    window_start: int


@dataclass(frozen=True)
class AttemptRefused:
    """The email's window is full until `reopens_at` (epoch seconds)."""

    reopens_at: int


class LoginAttempts(Protocol):
    """Login attempts per email in a fixed window, counted atomically before the password is checked."""

    def admit(self, email: str, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        """Count the attempt, unless the email's live window already holds `limit.failures`."""

    def forgive(self, attempt: AttemptAdmitted) -> None:
        """Take back the count of an attempt that succeeded, so only failures fill the window."""


class OrderRepository(Protocol):
    """Orders, stored under their owner."""

    def add(self, order: Order, idempotency: IdempotencyRecord | None, products: Mapping[str, ProductSnapshot]) -> None:
        """Store the order (and its key) and take its units from stock, or do nothing.

        Raise `IdempotencyKeyTaken` on a used key, `OutOfStock` naming every short line, and
        `Conflict` when a product changed since `products` was read.
        """

    def get(self, user_id: str, order_id: str, *, consistent: bool = False) -> Order | None: ...

    def list(self, user_id: str, *, status: OrderStatus | None, limit: int, after: DynamoKey | None) -> OrderSlice:
        """The owner's orders, newest first."""

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None: ...


class JobQueue(Protocol):
    """Where work that can wait goes."""

    def send(self, job: ChargeOrder | SendEmail) -> None:
        """Enqueue the job; raise `Unavailable` when the queue cannot take it."""


@dataclass(frozen=True)
class ChargeRequest:
    """One order's charge, as the payment provider receives it."""

    order_id: str
    user_id: str
    amount: int
    currency: str
    payment_method: str

    @classmethod
    def for_order(cls, order: Order) -> ChargeRequest:
        return cls(order.id, order.user_id, order.total, order.currency, order.payment_method)

    @property
    def idempotency_key(self) -> str:
        # One key per order, and a pending order's amount and method never change, so every
        # attempt at one order is the same request: the provider charges once and replays.
        return f"charge-{self.order_id}"


@dataclass(frozen=True)
class Charged:
    """The provider took the payment."""

    payment_id: str


@dataclass(frozen=True)
class Declined:
    """The provider refused the payment method: a business outcome, final for this order."""

    code: str
    message: str
    payment_id: str | None = None


ChargeOutcome = Charged | Declined


class PaymentGateway(Protocol):
    """Charges an order's payment method."""

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Raise `Unavailable` when a later attempt may succeed, `Misconfigured` when none can."""


@dataclass(frozen=True)
class ChargeStart:
    """The order is claimed for charging; `first_attempt` is when the first delivery claimed it."""

    order: Order
    first_attempt: datetime


@dataclass(frozen=True)
class Transition:
    """The order as stored after a status change; `done_now` is False when this call changed nothing."""

    order: Order
    done_now: bool


@dataclass(frozen=True)
class PendingOrderKey:
    """An order waiting for payment, as the sparse PendingPayments index lists it."""

    user_id: str
    order_id: str


class OrderLedger(Protocol):
    """Orders as the payment pipeline reads and settles them: consistent reads, conditional writes."""

    def get(self, user_id: str, order_id: str) -> Order | None:
        """The order as last written (a strongly consistent read)."""

    def customer_and_order(self, user_id: str, order_id: str) -> tuple[User | None, Order | None]:
        """The user and one of their orders as last written, in one read of the user's partition."""

    def begin_charge(self, user_id: str, order_id: str, at: datetime) -> ChargeStart | Order | None:
        """Claim a pending order for charging (the claim ends its cancellability).

        `ChargeStart` when the order is pending, the stored order when it is settled or cancelled,
        None when there is no such order.
        """

    def settle(self, order: Order, outcome: ChargeOutcome, at: datetime) -> Transition:
        """Move a pending order to paid, or to payment_failed with its units back in stock; return it as stored."""

    def cancel(self, order: Order, reason: CancellationReason, at: datetime) -> Transition:
        """Cancel a pending order that was never charged and put its units back, in one transaction."""

    def hold_for_review(self, order: Order, reason: str) -> None:
        """Take a pending order out of automatic dispatch; a person settles it."""

    def pending_before(self, cutoff: datetime, limit: int) -> list[PendingOrderKey]:
        """Pending orders last dispatched before `cutoff`, oldest first (an index Query, never a Scan)."""

    def mark_dispatched(self, order: Order, at: datetime) -> bool:
        """Record a new dispatch of a pending order; False when it is no longer pending."""


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str


class EmailSender(Protocol):
    """Sends one email."""

    def send(self, message: EmailMessage) -> str:
        """Return the provider's message id.

        Raise `Unavailable` when it was not sent, `OutcomeUnknown` when it may have been, and
        `Misconfigured` when no retry can send it.
        """


@dataclass(frozen=True)
class EmailKey:
    """What an email is about: each (user or order, kind) gets one email, ever."""

    user_id: str
    kind: EmailKind
    order_id: str | None = None


@dataclass(frozen=True)
class EmailClaim:
    """This delivery may send the email; `token` proves it when settling or releasing."""

    token: str
    # True when an earlier claim was left unsettled past its lease (its worker died mid-send).
    took_over: bool = False


@dataclass(frozen=True)
class EmailAlreadySent:
    event_published: bool


@dataclass(frozen=True)
class EmailInFlight:
    """Another delivery holds a live claim on this email."""


ClaimResult = EmailClaim | EmailAlreadySent | EmailInFlight


class EmailLedger(Protocol):
    """The once-per-(user or order, kind) marker of every email, written before the send and settled after."""

    def claim(self, key: EmailKey, at: datetime, lease: timedelta) -> ClaimResult: ...

    def settle(self, key: EmailKey, claim: EmailClaim, message_id: str, at: datetime) -> bool:
        """Mark the email sent; False when another delivery took the claim over meanwhile."""

    def release(self, key: EmailKey, claim: EmailClaim) -> None:
        """Drop a claim whose send certainly failed, so a retry may send."""

    def mark_event_published(self, key: EmailKey) -> None: ...


class OrderEventPublisher(Protocol):
    """Publishes order status events to subscribers."""

    def publish(self, events: Sequence[OrderStatusEvent]) -> list[bool]:
        """Publish all events; the result says, in order, which of them went out."""


@dataclass(frozen=True)
class ReceivedMessage:
    """One queue message as a worker received it."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int
    # String message attributes, kept when the message is parked in the dead-letter queue.
    attributes: Mapping[str, str] = field(default_factory=dict)


class MessageRedelivery(Protocol):
    """What a worker does with a message it cannot finish now."""

    def retry_after(self, message: ReceivedMessage, seconds: int) -> None:
        """Hide the message for `seconds` before its next delivery; best effort."""

    def dead_letter(self, message: ReceivedMessage, reason: str) -> None:
        """Park the message in the dead-letter queue; raise `Unavailable` when it cannot be parked."""


class QueueMonitor(Protocol):
    """Reads queue depths."""

    def visible_messages(self, queue_url: str) -> int: ...
