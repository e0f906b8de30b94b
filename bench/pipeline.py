"""Orders per second through the whole local pipeline with N concurrent clients, and create-to-paid latency.

Each client places an order, waits until it reads `paid`, and places the next (a closed loop). The
first WARM_UP_S seconds of a phase let the runtime start the extra workers N clients need; then,
for PHASE_S seconds, every receipt sent counts: the sustained rate is those orders over PHASE_S.
Create to paid comes from each order's own timestamps (`created_at` by the create handler,
`updated_at` by the payment worker's settlement) and create to receipt from the mailbox's, for the
orders created in that window, so polling adds nothing to either. Run:
`.venv/bin/python -m bench.pipeline`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.common import ORDER, Client, local_cloud, median, ms, percentile, record, wait_for_idle_queues
from localcloud.operations import list_mail
from localcloud.stack import LocalCloud

CLIENTS = (1, 4, 8)
WARM_UP_S = 5.0
PHASE_S = 20.0
# Polling every 100 ms, eight clients would send 80 requests a second through the two cores the
# pipeline runs on: a client polls after 50 ms, then waits twice as long each time, up to 800 ms.
FIRST_POLL_S = 0.05
LONGEST_POLL_S = 0.8
# How often the mailbox is read for the last receipts.
MAILBOX_POLL_S = 0.1
SETTLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Placed:
    order_id: str
    created_at: datetime
    paid_at: datetime
    # The create request as the client saw it.
    request_s: float


@dataclass(frozen=True)
class Phase:
    clients: int
    placed: list[Placed]
    # The measured window: after the warm-up, PHASE_S long.
    window_start: datetime
    receipts: dict[str, datetime]
    # CPU seconds of this process (the emulator, the gateway, the pollers, the clients) per second of the window.
    local_cpu_share: float

    def in_window(self, moment: datetime) -> bool:
        return self.window_start <= moment < self.window_start + timedelta(seconds=PHASE_S)

    def line(self) -> str:
        completed = sum(1 for sent_at in self.receipts.values() if self.in_window(sent_at))
        created = [order for order in self.placed if self.in_window(order.created_at)]
        to_paid = [(order.paid_at - order.created_at).total_seconds() for order in created]
        to_receipt = [(self.receipts[order.order_id] - order.created_at).total_seconds() for order in created]
        requests = [order.request_s for order in created]
        return (
            f"{self.clients} client{'s' if self.clients > 1 else ''}: {completed / PHASE_S:.2f} orders/s "
            f"({completed} receipts sent in {PHASE_S:.0f} s); {len(created)} orders created in the window: "
            f"create to paid p50 {ms(median(to_paid))} / p95 {ms(percentile(to_paid, 0.95))}; create to receipt "
            f"p50 {ms(median(to_receipt))} / p95 {ms(percentile(to_receipt, 0.95))}; POST /orders "
            f"p50 {ms(median(requests))} / p95 {ms(percentile(requests, 0.95))}; "
            f"the process of the emulator, gateway and pollers busy {self.local_cpu_share:.0%} of a core"
        )


def main() -> None:
    run = uuid.uuid4().hex[:8]
    phases = []
    with local_cloud() as cloud:
        assert cloud.gateway is not None
        # Warms every function on the path, so no phase pays a cold start of its own.
        warm_up = sign_up(cloud.gateway.url, f"pipeline-{run}-warm@example.com")
        place_and_wait(warm_up)
        for clients in CLIENTS:
            phases.append(run_phase(cloud, clients, run))
    record(
        "Pipeline: orders per second end to end with N concurrent clients",
        [
            f"closed loop: each client places an order, polls GET /orders/{{id}} until paid (after "
            f"{FIRST_POLL_S * 1000:.0f} ms, then doubling up to {LONGEST_POLL_S * 1000:.0f} ms), then places the "
            f"next; {WARM_UP_S:.0f} s of warm-up, then {PHASE_S:.0f} s measured",
            *(phase.line() for phase in phases),
        ],
    )


def sign_up(url: str, email: str) -> Client:
    client = Client(url)
    client.sign_up(email)
    return client


def run_phase(cloud: LocalCloud, clients: int, run: str) -> Phase:
    assert cloud.gateway is not None
    url = cloud.gateway.url
    customers = [sign_up(url, f"pipeline-{run}-{clients}-{index}@example.com") for index in range(clients)]
    # The welcome emails go out before the clock starts.
    wait_for_idle_queues(cloud.emulator.url)
    window_start = datetime.now(UTC) + timedelta(seconds=WARM_UP_S)
    measuring_from = time.monotonic() + WARM_UP_S
    with ThreadPoolExecutor(max_workers=clients) as pool:
        ordering = pool.map(lambda client: keep_ordering(client, measuring_from + PHASE_S), customers)
        time.sleep(max(0.0, measuring_from - time.monotonic()))
        cpu_started = time.process_time()
        placed = [order for orders in ordering for order in orders]
    cpu_share = (time.process_time() - cpu_started) / (time.monotonic() - measuring_from)
    # Every order settles before the next phase, measured or not.
    return Phase(clients, placed, window_start, receipts_for(cloud.emulator.url, placed), cpu_share)


def keep_ordering(client: Client, deadline: float) -> list[Placed]:
    placed = []
    while time.monotonic() < deadline:
        placed.append(place_and_wait(client))
    return placed


def place_and_wait(client: Client) -> Placed:
    started = time.perf_counter()
    status, order = client.call("POST", "/orders", ORDER)
    request_s = time.perf_counter() - started
    assert status == 201, order
    give_up = time.monotonic() + SETTLE_TIMEOUT_S
    pause_s = FIRST_POLL_S
    while order["status"] == "pending_payment":
        if time.monotonic() > give_up:
            raise SystemExit(f"order {order['id']} was not paid within {SETTLE_TIMEOUT_S:.0f} s")
        time.sleep(pause_s)
        pause_s = min(2 * pause_s, LONGEST_POLL_S)
        status, order = client.call("GET", f"/orders/{order['id']}")
        assert status == 200, order
    assert order["status"] == "paid", order
    return Placed(order["id"], timestamp(order["created_at"]), timestamp(order["updated_at"]), request_s)


def receipts_for(endpoint_url: str, placed: Sequence[Placed]) -> dict[str, datetime]:
    """When each order's receipt was sent, waiting for the last of them."""
    wanted = {order.order_id for order in placed}
    give_up = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        sent = {
            order_id: mail.timestamp
            for mail in list_mail(endpoint_url)
            if mail.timestamp is not None
            and mail.subject
            and mail.subject.startswith("Receipt for order ")
            and (order_id := mail.subject.removeprefix("Receipt for order ")) in wanted
        }
        if len(sent) == len(wanted):
            return sent
        if time.monotonic() > give_up:
            raise SystemExit(f"{len(wanted) - len(sent)} receipts were not sent within {SETTLE_TIMEOUT_S:.0f} s")
        time.sleep(MAILBOX_POLL_S)


def timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


if __name__ == "__main__":
    main()
