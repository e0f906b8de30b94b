"""The domain's ports: what it needs from storage and messaging, as narrow protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop.jobs import ChargeOrder, SendEmail
from shop.models import Credential, Order, OrderStatus, User

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


class UserRepository(Protocol):
    """Users and their credentials."""

    def add(self, user: User, credential: Credential) -> None:
        """Store both or neither; raise `Conflict` when the email is taken."""

    def get(self, user_id: str) -> User | None: ...

    def credential_for(self, email: str) -> Credential | None: ...

    def replace_password_hash(self, credential: Credential, new_hash: str) -> None:
        """Store a stronger hash, unless the stored one changed meanwhile."""


class OrderRepository(Protocol):
    """Orders, stored under their owner."""

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        """Store the order (and its key) or nothing; raise `IdempotencyKeyTaken` on a used key."""

    def get(self, user_id: str, order_id: str) -> Order | None: ...

    def list(self, user_id: str, *, status: OrderStatus | None, limit: int, after: DynamoKey | None) -> OrderSlice:
        """The owner's orders, newest first."""

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None: ...


class JobQueue(Protocol):
    """Where work that can wait goes."""

    def send(self, job: ChargeOrder | SendEmail) -> None:
        """Enqueue the job; raise `Unavailable` when the queue cannot take it."""
