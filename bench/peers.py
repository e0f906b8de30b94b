"""One DynamoDB workload over HTTP against localcloud's emulator, a plain moto server and MiniStack, side by side.

The workload of issue 12's table: a table of 100, then 10,000, then 50,000 items (one partition of
200 items that is queried, the rest spread over many partitions, as other customers' orders are);
at each size the p50 of a TransactWriteItems of two conditional Puts (as register and an order with
an Idempotency-Key write) and of a Query of 20 items of one partition, newest first (as a list).
Each server runs in a process of its own on a free port. MiniStack is never a dependency of this
project: it runs when installed in a venv of its own (`.venv-ministack/bin/ministack`, or the path
in MINISTACK); otherwise a line says how to install it. Run: `.venv/bin/python -m bench.peers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bench.common import ROOT, median, ms, record
from tests.support.cloud import free_port

SIZES = (100, 10_000, 50_000)
QUERIED_PARTITION_ITEMS = 200
PAGE = 20
BATCH = 25
WRITER_THREADS = 4
# Rounds per figure, fewer when one round is slow (moto's transaction at 50,000 items takes most of a second).
ROUNDS = 25
MIN_ROUNDS = 5
FIGURE_BUDGET_S = 8.0
START_TIMEOUT_S = 60.0
MINISTACK_ENV = "MINISTACK"
MINISTACK_VENV = ROOT / ".venv-ministack" / "bin" / "ministack"
MINISTACK_HINT = (
    "MiniStack is not installed: `python3.12 -m venv .venv-ministack && .venv-ministack/bin/pip install ministack` "
    f"(or set {MINISTACK_ENV} to its `ministack` command) to compare with it"
)
TABLE = "peers"


@dataclass(frozen=True)
class Peer:
    name: str
    command: list[str]
    environment: dict[str, str]


@dataclass
class Figures:
    transaction: dict[int, float]
    query: dict[int, float]


def peers(port: Callable[[], int]) -> tuple[list[tuple[Peer, int]], str | None]:
    """The servers to compare, each with its port, and the hint to print when MiniStack is missing."""
    chosen = []
    emulator_port = port()
    chosen.append(
        (
            Peer(
                "localcloud emulator", [sys.executable, "-m", "bench.peers", "--serve-emulator", str(emulator_port)], {}
            ),
            emulator_port,
        )
    )
    moto_port = port()
    moto_server = str(Path(sys.executable).with_name("moto_server"))
    chosen.append((Peer("moto server", [moto_server, "-H", "127.0.0.1", "-p", str(moto_port)], {}), moto_port))
    ministack = os.environ.get(MINISTACK_ENV) or (str(MINISTACK_VENV) if MINISTACK_VENV.exists() else None)
    if ministack is None:
        return chosen, MINISTACK_HINT
    ministack_port = port()
    chosen.append((Peer("MiniStack", [ministack], {"GATEWAY_PORT": str(ministack_port)}), ministack_port))
    return chosen, None


@contextmanager
def running(peer: Peer, port: int) -> Iterator[Any]:
    """The peer started in its own process, and a DynamoDB client of it; the process is stopped after."""
    with open(os.devnull, "w") as quiet:
        process = subprocess.Popen(
            peer.command, env={**os.environ, **peer.environment}, stdout=quiet, stderr=quiet, cwd=ROOT
        )
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, read_timeout=120, max_pool_connections=WRITER_THREADS * 2),
        )
        wait_until_up(client, process, peer)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(client: Any, process: subprocess.Popen[bytes], peer: Peer) -> None:
    give_up = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            client.list_tables()
            return
        except (BotoCoreError, ClientError):
            if process.poll() is not None or time.monotonic() > give_up:
                raise SystemExit(f"{peer.name} did not start ({' '.join(peer.command)})") from None
            time.sleep(0.2)


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def order(partition: str, index: int) -> dict[str, Any]:
    stamp = f"2026-01-01T00:00:00.{index:06d}Z"
    return {
        "pk": {"S": partition},
        "sk": {"S": f"ORDER#{index:08d}"},
        "gsi1pk": {"S": f"{partition}#paid"},
        "gsi1sk": {"S": stamp},
        "status": {"S": "paid"},
        "total": {"N": "2500"},
        "currency": {"S": "EUR"},
    }


def fill(client: Any, first: int, count: int) -> None:
    """Write items `first` to `first + count`: the first QUERIED_PARTITION_ITEMS in the queried partition."""

    def write(start: int) -> None:
        batch = [
            order("USER#queried" if index < QUERIED_PARTITION_ITEMS else f"USER#{index // 500}", index)
            for index in range(start, min(start + BATCH, first + count))
        ]
        pending: dict[str, Any] = {TABLE: [{"PutRequest": {"Item": item}} for item in batch]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        list(pool.map(write, range(first, first + count, BATCH)))


def timed(call: Callable[[], object]) -> float:
    samples: list[float] = []
    spent = 0.0
    while len(samples) < ROUNDS and (len(samples) < MIN_ROUNDS or spent < FIGURE_BUDGET_S):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
        spent += samples[-1]
    return median(samples)


def transaction(client: Any) -> None:
    user = uuid.uuid4().hex
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}, "name": {"S": "Bench"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": f"EMAIL#{user}@example.com"}, "sk": {"S": "LOCK"}, "user": {"S": user}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )


def query(client: Any) -> None:
    answer = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "USER#queried"}, ":prefix": {"S": "ORDER#"}},
        Limit=PAGE,
        ScanIndexForward=False,
    )
    assert len(answer["Items"]) == PAGE, answer


def measure(client: Any, sizes: tuple[int, ...]) -> Figures:
    create_table(client)
    figures = Figures({}, {})
    written = 0
    for size in sizes:
        fill(client, written, size - written)
        written = size
        figures.transaction[size] = timed(lambda: transaction(client))
        figures.query[size] = timed(lambda: query(client))
    return figures


def main(sizes: tuple[int, ...] = SIZES) -> None:
    chosen, hint = peers(free_port)
    measured: dict[str, Figures] = {}
    for peer, port in chosen:
        with running(peer, port) as client:
            measured[peer.name] = measure(client, sizes)
    lines = [
        f"over HTTP, each server in its own process; a table with a GSI, filled to each size with BatchWriteItem "
        f"(flat items of 7 attributes; {QUERIED_PARTITION_ITEMS} of them in the queried partition); "
        f"p50 of {MIN_ROUNDS} to {ROUNDS} rounds: TransactWriteItems of two conditional Puts, and a Query of "
        f"{PAGE} items of one partition, newest first",
    ]
    for size in sizes:
        transactions = ", ".join(f"{name} {ms(figures.transaction[size])}" for name, figures in measured.items())
        queries = ", ".join(f"{name} {ms(figures.query[size])}" for name, figures in measured.items())
        lines.append(f"{size:,} items: transaction p50 {transactions}; Query of {PAGE} items p50 {queries}")
    if hint is not None:
        lines.append(hint)
    record("Peers: one DynamoDB workload on localcloud's emulator, plain moto and MiniStack", lines)


def serve_emulator(port: int) -> None:
    """Run localcloud's emulator alone until this process is terminated."""
    from localcloud.emulator import Emulator

    emulator = Emulator(port)
    emulator.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        emulator.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-emulator"]:
        serve_emulator(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--sizes"]:
        # Smaller tables for a quick look: `--sizes 100,2000`.
        main(tuple(int(size) for size in sys.argv[2].split(",")))
    else:
        main()
