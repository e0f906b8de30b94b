"""From `POST /orders` returning to the order reading `paid` with its receipt in the mailbox.

Sequential orders through the whole local pipeline (payments queue, payment worker, fake provider,
notifications queue, notification worker, SES). Run: `.venv/bin/python -m bench.order_to_receipt`.
"""

from __future__ import annotations

import time
import uuid

from bench.common import ORDER, Client, local_cloud, median, ms, percentile, record
from localcloud.operations import list_mail

ORDERS = 15
POLL_S = 0.01


def main() -> None:
    with local_cloud() as cloud:
        assert cloud.gateway is not None
        client = Client(cloud.gateway.url)
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        client.sign_up(email)
        client.call("POST", "/orders", ORDER)  # warms every function on the path
        settle(client, cloud.emulator.url, email, order_id=None, receipts=1)
        durations = []
        for index in range(ORDERS):
            status, order = client.call("POST", "/orders", ORDER)
            assert status == 201, order
            started = time.perf_counter()
            settle(client, cloud.emulator.url, email, order_id=order["id"], receipts=index + 2)
            durations.append(time.perf_counter() - started)
    record(
        "Order to paid with receipt sent",
        [
            f"{ORDERS} sequential orders after one warm-up, polled every {POLL_S * 1000:.0f} ms",
            f"median {ms(median(durations))}, p95 {ms(percentile(durations, 0.95))}, max {ms(max(durations))}"
            " (target: median under 1 s)",
        ],
    )


def settle(client: Client, endpoint: str, email: str, *, order_id: str | None, receipts: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        paid = order_id is None or client.call("GET", f"/orders/{order_id}")[1]["status"] == "paid"
        sent = sum(1 for mail in list_mail(endpoint) if email in mail.to and "receipt" in (mail.subject or "").lower())
        if paid and sent >= receipts:
            return
        time.sleep(POLL_S)
    raise SystemExit(f"order {order_id} did not settle within 60 s")


if __name__ == "__main__":
    main()
