"""In-memory fakes of the domain's ports, with the same contracts as the DynamoDB and SQS adapters."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from shop.domain.jobs import AnyJob
from shop.domain.models import Credential, Order, OrderStatus, User
from shop.errors import AccountGone, Conflict, OutOfStock, Shortage, Unavailable
from shop.service_layer.ports import (
    AttemptAdmitted,
    AttemptKey,
    AttemptRefused,
    DynamoKey,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    LoginBackoff,
    LoginFailureLimit,
    OrderSlice,
    ProductSnapshot,
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
    """Attempt counters in fixed windows: `counts[key] = (window_start, attempts)`, `not_before[email]` for the pace."""

    def __init__(self) -> None:
        self.counts: dict[AttemptKey, tuple[int, int]] = {}
        self.not_before: dict[str, int] = {}
        self.down = False
        self._lock = threading.Lock()

    def admit(self, key: AttemptKey, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        now = int(at.timestamp())
        with self._lock:
            start, attempts = self._live(key, now, limit.window_seconds)
            if attempts >= limit.failures:
                return AttemptRefused(reopens_at=start + limit.window_seconds)
            self.counts[key] = (start, attempts + 1)
            return AttemptAdmitted(key=key, window_start=start)

    def admit_paced(self, email: str, at: datetime, backoff: LoginBackoff) -> AttemptAdmitted | AttemptRefused:
        now = int(at.timestamp())
        key = AttemptKey(email)
        with self._lock:
            start, attempts = self._live(key, now, backoff.window_seconds)
            if attempts and self.not_before.get(email, 0) > now:
                return AttemptRefused(reopens_at=self.not_before[email])
            self.counts[key] = (start, attempts + 1)
            self.not_before[email] = now + backoff.delay_after(attempts + 1)
            return AttemptAdmitted(key=key, window_start=start)

    def forgive(self, attempt: AttemptAdmitted) -> None:
        if self.down:
            raise Unavailable("attempt store down")
        with self._lock:
            start, attempts = self.counts.get(attempt.key, (attempt.window_start, 0))
            if start == attempt.window_start and attempts > 0:
                self.counts[attempt.key] = (start, attempts - 1)

    def _live(self, key: AttemptKey, now: int, window_seconds: int) -> tuple[int, int]:
        start, attempts = self.counts.get(key, (now, 0))
        return (now, 0) if start <= now - window_seconds else (start, attempts)


class InMemoryCatalog:
    """Products and their stock, shared by the order fakes as one table's product partitions are."""

    def __init__(self) -> None:
        self.products: dict[str, ProductSnapshot] = {}
        self.stock: dict[str, int] = {}
        self.lock = threading.RLock()

    def add(
        self, sku: str, price: int, *, stock: int = 100, currency: str = "EUR", active: bool = True, name: str = ""
    ) -> ProductSnapshot:
        product = ProductSnapshot(sku, name or f"Product {sku}", price, currency, active, version=1)
        self.products[sku] = product
        self.stock[sku] = stock
        return product

    def change(self, sku: str, **changes: object) -> None:
        """A PATCH of the product: new values, one version up."""
        current = self.products[sku]
        values = {**current.__dict__, **changes, "version": current.version + 1}
        self.products[sku] = ProductSnapshot(**values)

    def snapshots(self, skus: Sequence[str]) -> dict[str, ProductSnapshot]:
        return {sku: self.products[sku] for sku in skus if sku in self.products}

    def release(self, order: Order) -> None:
        with self.lock:
            for line in order.items:
                self.stock[line.sku] = self.stock.get(line.sku, 0) + line.quantity


class InMemoryOrders:
    def __init__(self, catalog: InMemoryCatalog | None = None) -> None:
        self.catalog = catalog or InMemoryCatalog()
        self.orders: dict[tuple[str, str], Order] = {}
        self.keys: dict[tuple[str, str], IdempotencyRecord] = {}
        self.reads: list[tuple[str, bool]] = []
        # Users whose account was deleted: like the adapter's ConditionCheck, no order is stored for them.
        self.deleted_accounts: set[str] = set()

    def add(self, order: Order, idempotency: IdempotencyRecord | None, products: Mapping[str, ProductSnapshot]) -> None:
        catalog = self.catalog
        with catalog.lock:
            if order.user_id in self.deleted_accounts:
                raise AccountGone("the account this token was issued for no longer exists")
            if idempotency is not None:
                existing = self.keys.get((order.user_id, idempotency.key))
                if existing is not None:
                    raise IdempotencyKeyTaken(existing)
            shortages = [
                Shortage(line.sku, line.quantity, catalog.stock.get(line.sku, 0))
                for line in order.items
                if catalog.stock.get(line.sku, 0) < line.quantity
            ]
            if shortages:
                raise OutOfStock(shortages)
            if any(catalog.products[sku].version != product.version for sku, product in products.items()):
                raise Conflict("the catalog changed while the order was placed")
            for line in order.items:
                catalog.stock[line.sku] -= line.quantity
            if idempotency is not None:
                self.keys[(order.user_id, idempotency.key)] = idempotency
            self.orders[(order.user_id, order.id)] = order

    def get(self, user_id: str, order_id: str, *, consistent: bool = False) -> Order | None:
        self.reads.append((order_id, consistent))
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
