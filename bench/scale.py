"""Register, order, list and get latency for a customer with 100 orders versus one with 100,000, among others' orders.

The orders go straight into the emulator's table with BatchWriteItem, each item built by
`shop.adapters.dynamo.order_item` as the create handler writes it, by writer processes (the emulator serves
from this one); the load is timed. The reads go through the local gateway, and beside each the same
Query or GetItem is sent to the emulator directly, so the emulator's own cost stands apart from the
handler's. Register and an order with an Idempotency-Key are DynamoDB transactions; beside each, a
TransactWriteItems of two conditional Puts goes to the emulator directly. Loaded orders are `paid`:
the PendingPayments index and the maintenance sweep never see them.
Run: `.venv/bin/python -m bench.scale`.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench.common import ORDER, PASSWORD, Client, local_cloud, median, ms, percentile, record, wait_for_idle_queues
from localcloud.stack import LocalCloud
from shop.adapters.dynamo import order_item, order_sk, status_partition, user_pk
from shop.domain.clock import isoformat
from shop.domain.ids import new_ulid
from shop.domain.models import Order, OrderLine, OrderStatus

SMALL = 100
LARGE = 100_000
NEIGHBOURS = 20
NEIGHBOUR_ORDERS = 500
# Orders one writer process builds and writes per task; BatchWriteItem takes at most 25 items.
CHUNK = 5_000
BATCH = 25
WRITERS = 2
ROUNDS = {"small": 20, "small, large table": 20, "large": 20}
GET_ROUNDS = 20
WRITE_ROUNDS = 15
FIRST_ORDER_AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Customer:
    client: Client
    user_id: str


@dataclass
class Samples:
    """Durations of one kind of read, through the gateway and sent to the emulator directly."""

    through_gateway: list[float]
    emulator: list[float]
    failures: list[int]
    scanned: int

    def line(self, label: str) -> str:
        failed = f", {len(self.failures)} failed (HTTP {sorted(set(self.failures))})" if self.failures else ""
        gateway = (
            f"p50 {ms(median(self.through_gateway))} / p95 {ms(percentile(self.through_gateway, 0.95))}"
            if self.through_gateway
            else "no successful request"
        )
        return (
            f"{label}: gateway {gateway}{failed}; emulator alone p50 {ms(median(self.emulator))}, "
            f"items read {self.scanned}"
        )


def emulator_client(endpoint_url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def write_orders(endpoint_url: str, table: str, user_id: str, first: int, count: int) -> int:
    """Build orders `first` to `first + count` of a customer, one a minute, and write them (in a writer process)."""
    dynamodb = emulator_client(endpoint_url)
    items = []
    for index in range(first, first + count):
        moment = FIRST_ORDER_AT + timedelta(minutes=index)
        stamp = isoformat(moment)
        order = Order(
            id=new_ulid(moment),
            user_id=user_id,
            status=OrderStatus.PAID,
            items=(OrderLine(sku="BOOK-1", name="Dune (paperback)", quantity=2, unit_price=1250),),
            currency="EUR",
            total=2500,
            payment_method="pm_card_visa",
            created_at=stamp,
            updated_at=stamp,
        )
        items.append(order_item(order))
    for start in range(0, len(items), BATCH):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH]]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return count


def load(endpoint_url: str, table: str, orders_by_user: dict[str, int]) -> tuple[int, float]:
    """Write every customer's orders with WRITERS processes; the number written and the seconds it took."""
    tasks = [
        (endpoint_url, table, user_id, first, min(CHUNK, count - first))
        for user_id, count in orders_by_user.items()
        for first in range(0, count, CHUNK)
    ]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        written = sum(pool.starmap(write_orders, tasks))
    return written, time.perf_counter() - started


def sign_up(cloud: LocalCloud, name: str) -> Customer:
    assert cloud.gateway is not None
    client = Client(cloud.gateway.url)
    client.sign_up(f"{name}@example.com")
    status, me = client.call("GET", "/me")
    assert status == 200, me
    return Customer(client, me["id"])


def sample(
    rounds: int,
    over_http: Callable[[], tuple[int, Any]],
    direct: Callable[[], dict[str, Any]],
    expected_status: int = 200,
) -> Samples:
    samples = Samples([], [], [], 0)
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = over_http()
        elapsed = time.perf_counter() - started
        if status == expected_status:
            samples.through_gateway.append(elapsed)
        else:
            samples.failures.append(status)
        started = time.perf_counter()
        response = direct()
        samples.emulator.append(time.perf_counter() - started)
        samples.scanned = int(response.get("ScannedCount", 1 if "Item" in response else 0))
    return samples


def two_conditional_puts(dynamodb: Any, table: str) -> dict[str, Any]:
    """What register and an order with an Idempotency-Key send: one transaction of two conditional Puts."""
    key = uuid.uuid4().hex
    response: dict[str, Any] = dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": f"BENCH#{key}"}, "sk": {"S": sort_key}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for sort_key in ("A", "B")
        ]
    )
    return response


def writes(dynamodb: Any, table: str, customer: Customer, registrar: Client, rounds: int) -> dict[str, Samples]:
    """POST /auth/register and POST /orders with an Idempotency-Key, each beside a transaction sent directly."""
    client = customer.client
    return {
        "register": sample(
            rounds,
            lambda: registrar.call(
                "POST",
                "/auth/register",
                {"email": f"scale-{uuid.uuid4().hex}@example.com", "password": PASSWORD, "name": "Bench"},
            ),
            lambda: two_conditional_puts(dynamodb, table),
            expected_status=201,
        ),
        "order with key": sample(
            rounds,
            lambda: client.call("POST", "/orders", ORDER, **{"Idempotency-Key": str(uuid.uuid4())}),
            lambda: two_conditional_puts(dynamodb, table),
            expected_status=201,
        ),
    }


def reads(dynamodb: Any, table: str, customer: Customer, rounds: int) -> dict[str, Samples]:
    """GET /orders, GET /orders?status=paid and GET /orders/{id}, each beside the request the handler makes."""
    client, user_id = customer.client, customer.user_id
    status, page = client.call("GET", "/orders")
    assert status == 200, page
    order_id = page["items"][0]["id"]
    return {
        "list": sample(
            rounds,
            lambda: client.call("GET", "/orders"),
            lambda: dynamodb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": user_pk(user_id)}, ":prefix": {"S": "ORDER#"}},
                Limit=20,
                ScanIndexForward=False,
            ),
        ),
        "list by status": sample(
            rounds,
            lambda: client.call("GET", "/orders?status=paid"),
            lambda: dynamodb.query(
                TableName=table,
                IndexName="ByUserStatus",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": status_partition(user_id, OrderStatus.PAID)}},
                Limit=20,
                ScanIndexForward=False,
            ),
        ),
        "get": sample(
            GET_ROUNDS,
            lambda: client.call("GET", f"/orders/{order_id}"),
            lambda: dynamodb.get_item(
                TableName=table, Key={"pk": {"S": user_pk(user_id)}, "sk": {"S": order_sk(order_id)}}
            ),
        ),
    }


def main() -> None:
    run = uuid.uuid4().hex[:8]
    with local_cloud() as cloud:
        assert cloud.report is not None
        assert cloud.gateway is not None
        table = cloud.report.stack.functions["ListOrdersFunction"].environment["TABLE_NAME"]
        dynamodb = emulator_client(cloud.emulator.url)
        small = sign_up(cloud, f"scale-{run}-small")
        large = sign_up(cloud, f"scale-{run}-large")
        neighbours = {new_ulid(datetime.now(UTC)): NEIGHBOUR_ORDERS for _ in range(NEIGHBOURS)}
        first_load = load(cloud.emulator.url, table, {**neighbours, small.user_id: SMALL})
        registrar = Client(cloud.gateway.url)

        def measure(customer: Customer, rounds: int) -> dict[str, Samples]:
            measured = reads(dynamodb, table, customer, rounds) | writes(
                dynamodb, table, customer, registrar, WRITE_ROUNDS
            )
            # The payment and email jobs of the orders just written finish before the next figures.
            wait_for_idle_queues(cloud.emulator.url)
            return measured

        measured = {"small": measure(small, ROUNDS["small"])}
        large_load = load(cloud.emulator.url, table, {large.user_id: LARGE})
        measured["small, large table"] = measure(small, ROUNDS["small, large table"])
        measured["large"] = measure(large, ROUNDS["large"])
    record(
        "Scale: register, order, list and get with 100 versus 100,000 orders of one customer",
        report(first_load, large_load, measured),
    )


def report(
    first_load: tuple[int, float], large_load: tuple[int, float], measured: dict[str, dict[str, Samples]]
) -> list[str]:
    (small_written, small_s), (large_written, large_s) = first_load, large_load
    table_after = small_written + large_written
    lines = [
        f"load with BatchWriteItem ({BATCH} items a call, items from shop.adapters.dynamo.order_item, {WRITERS} writer "
        f"processes): {small_written:,} orders ({NEIGHBOURS} other customers x {NEIGHBOUR_ORDERS} and the small "
        f"customer's {SMALL}) in {small_s:.1f} s; the large customer's {large_written:,} in {large_s:.1f} s "
        f"({large_written / large_s:,.0f} items/s)",
    ]
    tables = {"small": small_written, "small, large table": table_after, "large": table_after}
    for who, label in (
        ("small", f"{SMALL} orders"),
        ("small, large table", f"{SMALL} orders"),
        ("large", f"{LARGE:,} orders"),
    ):
        for read, samples in measured[who].items():
            lines.append(samples.line(f"{read}, customer with {label} (table {tables[who]:,} items)"))
    for read in ("register", "order with key", "list", "list by status", "get"):
        small, grown, large = (measured[who][read] for who in ("small", "small, large table", "large"))
        lines.append(
            f"{read}: ratio of p50s 100,000 / 100 orders: gateway {ratio(large, small)}, emulator alone "
            f"{median(large.emulator) / median(small.emulator):.1f}; the 100-order customer once the table grew to "
            f"{table_after:,}: gateway {ratio(grown, small)}, emulator alone "
            f"{median(grown.emulator) / median(small.emulator):.1f}; items read per request {small.scanned} and "
            f"{large.scanned}"
        )
    return lines


def ratio(numerator: Samples, denominator: Samples) -> str:
    """The ratio of the gateway p50s, when both sides had a successful request."""
    if not numerator.through_gateway or not denominator.through_gateway:
        return "n/a"
    return f"{median(numerator.through_gateway) / median(denominator.through_gateway):.1f}"


if __name__ == "__main__":
    main()
