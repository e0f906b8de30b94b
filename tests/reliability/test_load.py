"""Load: 20 concurrent clients of mixed traffic for 30 s against the local cloud.

Every client is one customer who registers, logs in, and then, until the time is up, picks one
action at random: place an order with or without an Idempotency-Key (retrying the same key, also
from two connections at once, and reusing a key with another body), read an order, list orders
page by page, read their account, log in again, register another account, or check health.
Afterwards: no 5xx and no status an action does not allow; no order lost or duplicated (every
order a 201 returned is listed exactly once for its customer, and nothing else is); each
Idempotency-Key maps to one order.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest

from tests.reliability.conftest import StartCloud
from tests.reliability.shop_client import PASSWORD, Response, ShopClient, order_body
from tests.support.catalog import SeedProduct, seed_local_cloud

pytestmark = pytest.mark.slow

CLIENTS = 20
DURATION_S = 30.0
# Warm workers per function: twenty clients on a 2-core machine are served as fast by three as by
# ten, which would spend the run's first seconds on seventy cold starts.
FUNCTION_CONCURRENCY = 3
LIST_PAGE_SIZE = 5
LIST_MAX_PAGES = 3
# 429 is the stage throttling a burst (template ThrottleRateLimit / ThrottleBurstLimit): a refusal
# that a client retries, never a lost or a half-done request.
THROTTLED = 429


@dataclass
class ClientRecord:
    """What one client sent and saw; only its own thread writes to it."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[tuple[str, Response]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    orders_by_key: dict[str, set[str]] = field(default_factory=dict)


class LoadClient:
    """One customer's traffic: a keep-alive connection, a second one for double submits, and the record."""

    def __init__(self, base_url: str, rng: random.Random) -> None:
        self._rng = rng
        self.customer = ShopClient(base_url)
        self._twin = ShopClient(base_url)
        self.record = ClientRecord()

    def sign_up(self) -> None:
        self.customer.sign_up()
        self._twin.token = self.customer.token

    def run_until(self, deadline: float) -> None:
        actions: list[tuple[Callable[[], None], int]] = [
            (self.health, 10),
            (self.me, 10),
            (self.get_order, 20),
            (self.list_orders, 15),
            (self.create_order, 15),
            (self.create_order_with_key, 10),
            (self.double_submit, 3),
            (self.reuse_key_with_another_body, 3),
            (self.login, 5),
            (self.register_another, 3),
        ]
        choices, weights = zip(*actions, strict=True)
        while time.monotonic() < deadline:
            self._rng.choices(choices, weights)[0]()

    def close(self) -> None:
        self.customer.close()
        self._twin.close()

    def health(self) -> None:
        self._expect("GET /health", self.customer.call("GET", "/health"), 200)

    def me(self) -> None:
        self._expect("GET /me", self.customer.call("GET", "/me"), 200)

    def get_order(self) -> None:
        if not self.record.created:
            self.create_order()
            return
        order_id = self._rng.choice(self.record.created)
        self._expect("GET /orders/{id}", self.customer.call("GET", f"/orders/{order_id}"), 200)

    def list_orders(self) -> None:
        query = {"limit": str(LIST_PAGE_SIZE)}
        for _ in range(LIST_MAX_PAGES):
            page = self.customer.call("GET", f"/orders?{urlencode(query)}")
            if not self._expect("GET /orders", page, 200) or page.body["next_cursor"] is None:
                return
            query["cursor"] = page.body["next_cursor"]

    def create_order(self) -> None:
        created = self.customer.call("POST", "/orders", order_body(sku=self._sku()))
        if self._expect("POST /orders", created, 201):
            self.record.created.append(created.body["id"])

    def create_order_with_key(self) -> None:
        key, body = str(uuid.uuid4()), order_body(sku=self._sku())
        self._create_with_key(self.customer, key, body)
        if self._rng.random() < 0.5:
            # A client that did not see the answer retries with the same key.
            self._create_with_key(self.customer, key, body)

    def double_submit(self) -> None:
        """The same key and body from two connections at once, as a double click does."""
        key, body = str(uuid.uuid4()), order_body(sku=self._sku())
        with ThreadPoolExecutor(1) as twin:
            second = twin.submit(self._twin.call, "POST", "/orders", body, _key(key))
            first = self.customer.call("POST", "/orders", body, _key(key))
            responses = (first, second.result())
        for response in responses:
            self._record_keyed(key, response)

    def reuse_key_with_another_body(self) -> None:
        key = str(uuid.uuid4())
        if self._create_with_key(self.customer, key, order_body(sku="BOOK-1")):
            reused = self.customer.call("POST", "/orders", order_body(sku="BOOK-2"), _key(key))
            self._expect("POST /orders (key reused, other body)", reused, 409, 422)

    def login(self) -> None:
        body = {"email": self.customer.email, "password": PASSWORD}
        self._expect("POST /auth/login", self.customer.call("POST", "/auth/login", body), 200)

    def register_another(self) -> None:
        body = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Grace"}
        self._expect("POST /auth/register", self.customer.call("POST", "/auth/register", body), 201)

    def _create_with_key(self, client: ShopClient, key: str, body: dict[str, object]) -> bool:
        return self._record_keyed(key, client.call("POST", "/orders", body, _key(key)))

    def _record_keyed(self, key: str, response: Response) -> bool:
        if not self._expect("POST /orders (Idempotency-Key)", response, 201):
            return False
        orders = self.record.orders_by_key.setdefault(key, set())
        if not orders:
            self.record.created.append(response.body["id"])
        orders.add(response.body["id"])
        return True

    def _expect(self, route: str, response: Response, *allowed: int) -> bool:
        """Record the response; True when it is the action's success status."""
        self.record.requests[route] += 1
        self.record.statuses[response.status] += 1
        if response.status not in (*allowed, THROTTLED):
            self.record.unexpected.append((route, response))
        return response.status == allowed[0]

    def _sku(self) -> str:
        return f"SKU-{self._rng.randrange(1000)}"


# The thousand skus the clients order, stocked for the whole run.
CATALOG = tuple(SeedProduct(f"SKU-{n}", f"Product {n}", 1250, stock=1_000_000) for n in range(1000))


def _key(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_mixed_traffic_of_twenty_clients_loses_and_duplicates_no_order_and_never_fails_with_5xx(
    start_cloud: StartCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    cloud = start_cloud(function_concurrency=FUNCTION_CONCURRENCY)
    assert cloud.gateway is not None
    seed_local_cloud(cloud.emulator.url, CATALOG)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    clients = [LoadClient(cloud.gateway.url, random.Random(rng.random())) for _ in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(LoadClient.sign_up, clients))

    # When
    deadline = time.monotonic() + DURATION_S
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda client: client.run_until(deadline), clients))
    listed = {client.customer.email: [order["id"] for order in client.customer.all_orders()] for client in clients}
    for client in clients:
        client.close()

    # Then
    records = [client.record for client in clients]
    assert [(route, response) for record in records for route, response in record.unexpected] == []
    for client in clients:
        created = client.record.created
        assert len(set(created)) == len(created), "one order id came back for two creations"
        assert sorted(listed[client.customer.email]) == sorted(created)
        assert all(len(orders) == 1 for orders in client.record.orders_by_key.values())

    with capsys.disabled():
        print_report(records, seed)


def print_report(records: list[ClientRecord], seed: int) -> None:
    requests = sum((record.requests for record in records), Counter[str]())
    statuses = sum((record.statuses for record in records), Counter[int]())
    keys = sum(len(record.orders_by_key) for record in records)
    lines = [
        f"load: {CLIENTS} clients for {DURATION_S:.0f} s, {sum(requests.values())} requests "
        f"({sum(requests.values()) / DURATION_S:.0f}/s; seed {seed})",
        "  per route: " + ", ".join(f"{route} {count}" for route, count in sorted(requests.items())),
        "  statuses: " + ", ".join(f"{status} x{count}" for status, count in sorted(statuses.items())),
        f"  orders created: {sum(len(record.created) for record in records)} "
        f"({keys} with an Idempotency-Key, each one order); every one listed once for its customer",
    ]
    print("\n" + "\n".join(lines))
