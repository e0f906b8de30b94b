"""In-memory fakes of the domain's ports, with the same contracts as the DynamoDB and SQS adapters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from shop.domain.jobs import AnyJob
from shop.domain.models import Credential, Order, OrderStatus, User
from shop.errors import Conflict, Unavailable
from shop.service_layer.ports import (
    AttemptAdmitted,
    AttemptRefused,
    DynamoKey,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    LoginFailureLimit,
    OrderSlice,
)


class FixedClock:
    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class InMemoryUsers:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.credentials: dict[str, Credential] = {}
        self._lock = threading.Lock()

    def add(self, user: User, credential: Credential) -> None:
        with self._lock:
            if credential.email in self.credentials:
                raise Conflict("an account with this email already exists")
            self.credentials[credential.email] = credential
            self.users[user.id] = user

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def credential_for(self, email: str) -> Credential | None:
        return self.credentials.get(email)

    def replace_password_hash(self, credential: Credential, new_hash: str) -> None:
        with self._lock:
            stored = self.credentials.get(credential.email)
            if stored is not None and stored.password_hash == credential.password_hash:
                self.credentials[credential.email] = stored.model_copy(update={"password_hash": new_hash})


class InMemoryLoginAttempts:
    """Per-email attempt counters in fixed windows: `counts[email] = (window_start, attempts)`."""

    def __init__(self) -> None:
        self.counts: dict[str, tuple[int, int]] = {}
        self.down = False
        self._lock = threading.Lock()

    def admit(self, email: str, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        now = int(at.timestamp())
        with self._lock:
            start, attempts = self.counts.get(email, (now, 0))
            if start <= now - limit.window_seconds:
                start, attempts = now, 0
            if attempts >= limit.failures:
                return AttemptRefused(reopens_at=start + limit.window_seconds)
            self.counts[email] = (start, attempts + 1)
            return AttemptAdmitted(email=email, window_start=start)

    def forgive(self, attempt: AttemptAdmitted) -> None:
        if self.down:
            raise Unavailable("attempt store down")
        with self._lock:
            start, attempts = self.counts.get(attempt.email, (attempt.window_start, 0))
            if start == attempt.window_start and attempts > 0:
                self.counts[attempt.email] = (start, attempts - 1)


class InMemoryOrders:
    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], Order] = {}
        self.keys: dict[tuple[str, str], IdempotencyRecord] = {}
        self._lock = threading.Lock()

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        with self._lock:
            if idempotency is not None:
                existing = self.keys.get((order.user_id, idempotency.key))
                if existing is not None:
                    raise IdempotencyKeyTaken(existing)
                self.keys[(order.user_id, idempotency.key)] = idempotency
            self.orders[(order.user_id, order.id)] = order

    def get(self, user_id: str, order_id: str) -> Order | None:
        return self.orders.get((user_id, order_id))

    def list(self, user_id: str, *, status: OrderStatus | None, limit: int, after: DynamoKey | None) -> OrderSlice:
        mine = sorted(
            (o for (owner, _), o in self.orders.items() if owner == user_id and (status is None or o.status is status)),
            key=lambda order: order.id,
            reverse=True,
        )
        if after is not None:
            last_id = after["sk"]["S"].removeprefix("ORDER#")
            mine = [order for order in mine if order.id < last_id]
        page = mine[:limit]
        more = len(mine) > limit
        last_key = {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"ORDER#{page[-1].id}"}} if more else None
        return OrderSlice(orders=page, last_key=last_key)

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        return self.keys.get((user_id, key))


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[AnyJob] = []
        self.down = False

    def send(self, job: AnyJob) -> None:
        if self.down:
            raise Unavailable("queue down")
        self.jobs.append(job)
