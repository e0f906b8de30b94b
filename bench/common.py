"""What every benchmark shares: a throwaway local cloud, an HTTP client, percentiles, the results file."""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud.stack import LocalCloud, LocalCloudConfig
from tests.support.cloud import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
PASSWORD = "correct horse battery staple"
ORDER = {
    "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": 1250}],
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


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def record(title: str, lines: Sequence[str]) -> None:
    """Print the figures and append them to bench/RESULTS.md with the date, machine and versions."""
    print(f"\n## {title}")
    for line in lines:
        print(line)
    packages = ", ".join(f"{name} {version(name)}" for name in ("boto3", "moto", "aws-lambda-powertools", "pydantic"))
    cpu = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    header = (
        f"\n## {title}\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {cpu} cores, "
        f"Python {platform.python_version()}; {packages}\n\n"
    )
    with RESULTS.open("a") as results:
        results.write(header + "\n".join(f"- {line}" for line in lines) + "\n")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit("run one of the bench/*.py benchmarks instead")
