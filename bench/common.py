"""What every benchmark shares: a throwaway local cloud, an HTTP client, handlers in this process,
percentiles, the results file."""

from __future__ import annotations

import http.client
import importlib
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud.operations import queue_overview
from localcloud.spec import FunctionSpec
from localcloud.stack import LocalCloud, LocalCloudConfig
from tests.support.cloud import free_port
from tests.support.events import FakeLambdaContext
from tests.support.sqs_events import sqs_event

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
# The layer is not an installed package: SAM puts it on the path in Lambda, and this does here, so
# benchmarks can build items and events with the `shop` code itself.
sys.path[:0] = [path for path in (str(ROOT / "functions"), str(ROOT / "layers" / "shop")) if path not in sys.path]
# Other work on the machine moves every figure: the load before the benchmark added its own says how much.
LOAD_AT_START = os.getloadavg()[0]
STARTED = time.monotonic()
PASSWORD = "correct horse battery staple"
ORDER = {
    "items": [{"sku": "BOOK-1", "quantity": 2}],
    "currency": "EUR",
    "payment_method": "pm_card_visa",
}


@contextmanager
def local_cloud() -> Iterator[LocalCloud]:
    """The whole stack in this process, on free ports, with no state kept and function output hidden."""
    payments_port = free_port()
    with tempfile.TemporaryDirectory() as state_dir, open(os.devnull, "w") as quiet:
        config = LocalCloudConfig(
            template=ROOT / "template.yaml",
            state_dir=Path(state_dir),
            stack_name="shop-bench",
            parameter_overrides={"PaymentApiBaseUrl": f"http://127.0.0.1:{payments_port}"},
            aws_port=free_port(),
            api_port=free_port(),
            payments_port=payments_port,
            watch=False,
            persist=False,
        )
        cloud = LocalCloud(config, console=quiet)
        cloud.start()
        try:
            # Imported here, once the layer is on the path (above): the seeding writes `shop`'s items.
            from tests.support.catalog import E2E_PRODUCTS, seed_local_cloud  # noqa: PLC0415

            seed_local_cloud(f"http://127.0.0.1:{config.aws_port}", E2E_PRODUCTS)
            yield cloud
        finally:
            cloud.stop(save=False)


class Client:
    """A keep-alive HTTP client, so the figures measure the server and not TCP handshakes."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **headers}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        self._connection.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
        response = self._connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None

    def sign_up(self, email: str) -> None:
        self.call("POST", "/auth/register", {"email": email, "password": PASSWORD, "name": "Bench"})
        status, body = self.call("POST", "/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, body
        self.token = body["access_token"]


Handler = Callable[[dict[str, Any], Any], Any]


def use_function_environment(function: FunctionSpec, endpoint_url: str | None) -> None:
    """This process's environment becomes the function's, with AWS calls going to `endpoint_url` (None: boto3's own)."""
    os.environ.update(function.environment)
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    if endpoint_url is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url


def import_handler(function: FunctionSpec, *, fresh: bool = False) -> Handler:
    """The function's handler imported into this process as a warm Lambda holds it; `fresh` runs its init again."""
    paths = [str(path) for path in (function.code_dir, *function.layer_dirs)]
    sys.path[:0] = [path for path in paths if path not in sys.path]
    module_name, _, attribute = function.handler.rpartition(".")
    if fresh:
        sys.modules.pop(module_name, None)
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


@contextmanager
def quiet_output() -> Iterator[None]:
    """Hide what handlers print (log lines, metrics, warnings) at the file descriptors, as a worker's pipe would."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class WarmHandler:
    """A function's handler imported once in a process of its own, which times each call itself.

    Out of the process that runs the emulator, the gateway and the pollers, a direct call does not
    wait for their interpreter lock, as the gateway's worker processes do not; timing inside the
    process leaves the pipe out.
    """

    def __init__(self, function: FunctionSpec, endpoint_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve_handler, args=(child_end, function, endpoint_url), daemon=True)
        self._process.start()
        child_end.close()

    def call(self, event: dict[str, Any]) -> tuple[float, Any]:
        """The handler's duration in seconds and its response."""
        self._connection.send(event)
        duration, response = self._connection.recv()
        return float(duration), response

    def close(self) -> None:
        self._connection.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._connection.close()

    def __enter__(self) -> WarmHandler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _serve_handler(connection: Connection, function: FunctionSpec, endpoint_url: str) -> None:
    warnings.filterwarnings("ignore", "No application metrics to publish")
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
    use_function_environment(function, endpoint_url)
    handler = import_handler(function)
    context = FakeLambdaContext(function_name=function.function_name)
    while (event := connection.recv()) is not None:
        started = time.perf_counter()
        response = handler(event, context)
        connection.send((time.perf_counter() - started, response))


def take_batch(sqs: Any, function: FunctionSpec) -> dict[str, Any]:
    """Every message waiting on the function's SQS event source, removed from the queue, as the event Lambda sends."""
    source = function.sqs_events[0]
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=source.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return sqs_event(function.handler.rpartition(".")[0], messages, queue_arn=source.queue_arn)


def wait_for_idle_queues(endpoint_url: str, timeout_s: float = 300) -> None:
    """Wait until no queue but the dead-letter ones holds a message: the pipeline has finished its work."""
    deadline = time.monotonic() + timeout_s
    while any(
        queue.visible or queue.in_flight or queue.delayed
        for queue in queue_overview(endpoint_url)
        if not queue.is_dead_letter_queue
    ):
        if time.monotonic() > deadline:
            raise SystemExit(f"the queues did not drain within {timeout_s:.0f} s")
        time.sleep(0.2)


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def record(title: str, lines: Sequence[str]) -> None:
    """Print the figures and append them to bench/RESULTS.md with the date, machine and versions."""
    packages = ", ".join(f"{name} {version(name)}" for name in ("boto3", "moto", "aws-lambda-powertools", "pydantic"))
    cpu = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    context = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {cpu} cores, "
        f"load average {LOAD_AT_START:.2f} at start, ran {time.monotonic() - STARTED:.0f} s; "
        f"Python {platform.python_version()}; {packages}"
    )
    print(f"\n## {title}\n{context}")
    for line in lines:
        print(line)
    with RESULTS.open("a") as results:
        results.write(f"\n## {title}\n\n{context}\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def spread(samples: Sequence[float]) -> str:
    """p50, p95 and p99 of durations in seconds, in milliseconds."""
    p50, p95, p99 = (percentile(samples, share) * 1000 for share in (0.5, 0.95, 0.99))
    return f"p50 {p50:.1f} / p95 {p95:.1f} / p99 {p99:.1f} ms"


if __name__ == "__main__":
    sys.exit("run one of the bench/*.py benchmarks instead")
