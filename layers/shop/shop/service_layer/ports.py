"""The domain's ports: what it needs from storage and messaging, as narrow protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from shop.domain.jobs import AnyJob, EmailKind
from shop.domain.models import (
    AdminOrderView,
    CancellationReason,
    Credential,
    Order,
    OrderStatus,
    OrderStatusEvent,
    Product,
    ProductView,
    Refund,
    User,
)

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
    """The lock: at most `failures` failed logins per email and source address in a fixed window."""

    failures: int
    window_seconds: int


@dataclass(frozen=True)
class LoginBackoff:
    """The pace: per email, from every source together, `free_failures` failed logins in a fixed
    window; past them each attempt waits for a delay that doubles from 1 s to `max_delay_seconds`."""

    free_failures: int
    window_seconds: int
    max_delay_seconds: int

    def delay_after(self, attempts: int) -> int:
        """Seconds the next attempt waits, once `attempts` are counted in the window."""
        if attempts < self.free_failures:
            return 0
        # The exponent is bounded so that the power stays small before the cap applies.
        return min(1 << min(attempts - self.free_failures, 32), self.max_delay_seconds)


@dataclass(frozen=True)
class AttemptKey:
    """Whose attempts a counter holds: one email from one source address, or (no source) from all."""

    email: str
    source: str | None = None


@dataclass(frozen=True)
class AttemptAdmitted:
    """The attempt is counted in the counter's window that opened at `window_start` (epoch seconds)."""

    key: AttemptKey
    window_start: int


@dataclass(frozen=True)
class AttemptRefused:
    """The counter refuses attempts until `reopens_at` (epoch seconds)."""

    reopens_at: int


class LoginAttempts(Protocol):
    """Login attempt counters, each counted atomically before the password is checked."""

    def admit(self, key: AttemptKey, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        """Count the attempt, unless the key's live window already holds `limit.failures`."""

    def admit_paced(self, email: str, at: datetime, backoff: LoginBackoff) -> AttemptAdmitted | AttemptRefused:
        """Count the attempt for the email from every source, unless it comes before the backoff delay ends."""

    def forgive(self, attempt: AttemptAdmitted) -> None:
        """Take back the count of an attempt that succeeded or was refused, so only failures fill the window."""


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

    def send(self, job: AnyJob) -> None:
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


@dataclass(frozen=True)
class RefundRequest:
    """Money back on a captured payment, as the payment provider receives it."""

    # Ours, unique per refund: every attempt at one refund is the same request at the provider.
    refund_id: str
    order_id: str
    # The provider's id of the captured payment (`Charged.payment_id`).
    payment_id: str
    # Minor units; the provider refuses more than what is left unrefunded.
    amount: int
    reason: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.refund_id}"


@dataclass(frozen=True)
class Refunded:
    """The provider accepted the refund; the money is on its way back."""

    provider_refund_id: str


@dataclass(frozen=True)
class RefundRefused:
    """The provider will not refund: more than the remainder, nothing captured, already refunded."""

    code: str
    message: str


RefundOutcome = Refunded | RefundRefused


class PaymentGateway(Protocol):
    """Charges an order's payment method and gives money back on it."""

    def charge(self, request: ChargeRequest) -> ChargeOutcome:
        """Raise `Unavailable` when a later attempt may succeed, `Misconfigured` when none can."""

    def refund(self, request: RefundRequest) -> RefundOutcome:
        """Refund once per `request.idempotency_key`; raise as `charge` does."""


@dataclass(frozen=True)
class RefundIdempotencyRecord:
    """Which refund of an order a caller's Idempotency-Key asked for, and with which body."""

    key: str
    refund_id: str
    fingerprint: str
    expires_at: int


class RefundKeyTaken(Exception):
    """An earlier request on this order stored the Idempotency-Key first; `record` is what it stored."""

    def __init__(self, record: RefundIdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


class RefundNotReserved(Exception):
    """The order cannot take the refund (not refundable, or less left than asked); `order` as stored."""

    def __init__(self, order: Order | None) -> None:
        super().__init__(None if order is None else order.id)
        self.order = order


class RefundReader(Protocol):
    """Reads one refund of an order."""

    def get(self, user_id: str, order_id: str, refund_id: str) -> Refund | None:
        """The refund as last written (a strongly consistent read)."""


class RefundLedger(RefundReader, Protocol):
    """Refunds and the order's refund counters, changed together and conditionally: never more than captured."""

    def find_order(self, order_id: str) -> Order | None:
        """The order with this id, whoever owns it; as last written."""

    def reserve(self, order: Order, refund: Refund, record: RefundIdempotencyRecord) -> None:
        """Store the pending refund, its key, and its amount reserved on the order, all or nothing.

        Raise `RefundKeyTaken` when the key was used on this order, `RefundNotReserved` when the
        order is not refundable or has less left than the refund asks.
        """

    def idempotency_record(self, user_id: str, order_id: str, key: str) -> RefundIdempotencyRecord | None: ...

    def get_with_order(self, user_id: str, order_id: str, refund_id: str) -> tuple[Refund, Order] | None:
        """The refund and its order, read together as last written; None when either is missing."""

    def complete(self, refund: Refund, order: Order, outcome: Refunded, at: datetime) -> Refund:
        """Mark a pending refund succeeded and add it to the order's refunded amount; the refund as stored.

        `order` is the order as read with the refund; it is read again if another refund settled since.
        """

    def release(self, refund: Refund, outcome: RefundRefused, at: datetime) -> Refund:
        """Mark a pending refund failed and free its reservation on the order; the refund as stored."""


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
    refund_id: str | None = None


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


@dataclass(frozen=True)
class ProductSlice:
    """One page of an index Query: the products, and where the next page starts."""

    products: list[Product]
    last_key: DynamoKey | None


@dataclass(frozen=True)
class ProductChanges:
    """A PATCH as the store applies it: the product fields' new values, and a stock delta."""

    fields: Mapping[str, object]
    stock_delta: int | None


CatalogIndex = Literal["sku", "name"]


class ProductRepository(Protocol):
    """Products (`PRODUCT#<sku>/PRODUCT`) and their stock (`PRODUCT#<sku>/STOCK`)."""

    def add(self, product: Product, stock: int) -> None:
        """Store both or neither; raise `Conflict` when the sku exists."""

    def get(self, sku: str, *, consistent: bool = False) -> ProductView | None:
        """The product with its stock, in one read of its partition."""

    def update(self, sku: str, expected_version: int, changes: ProductChanges, at: datetime) -> ProductView:
        """Apply the changes if the product is at `expected_version` and stock stays at 0 or above.

        Raise `NotFound`, `PreconditionFailed` (another version), or `Conflict` (stock would go negative).
        """

    def page(self, index: CatalogIndex, prefix: str | None, limit: int, after: DynamoKey | None) -> ProductSlice:
        """Active products in the index's order, optionally those whose key starts with `prefix` (lower case)."""

    def stock_of(self, skus: Sequence[str]) -> dict[str, int]:
        """Units on hand of each sku, in one batch read."""


@dataclass(frozen=True)
class AdminOrderSlice:
    orders: list[AdminOrderView]
    last_key: DynamoKey | None


ReviewDecision = Literal["retry", "fail"]


class AdminOrderStore(Protocol):
    """Every customer's orders, as operators read them and settle the ones held for review."""

    def by_status(self, status: OrderStatus, *, limit: int, after: DynamoKey | None) -> AdminOrderSlice:
        """Orders in one status across all customers, newest first (an index Query, never a Scan)."""

    def find(self, order_id: str) -> AdminOrderView | None:
        """The order with this id, whoever owns it."""

    def resolve(self, order: AdminOrderView, decision: ReviewDecision, by: str, at: datetime) -> AdminOrderView | None:
        """Record the decision on an order still held for review; None when it is not held (any more)."""


class UserRoleStore(Protocol):
    """Users' roles, on the profile and on the credential that login reads them from."""

    def set_roles(
        self, user_id: str, roles: tuple[str, ...], *, expected: tuple[str, ...] | None = None
    ) -> User | None:
        """Replace the roles (if login still reads `expected`, when given); None when the user does not exist."""

    def credential_for(self, email: str) -> Credential | None: ...
