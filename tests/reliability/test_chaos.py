"""Chaos: 300 orders through the local cloud while the payment provider fails and hangs and workers are killed.

Whatever the faults, afterwards: every order is terminal, with the status its card calls for; every
order was charged exactly once at the provider (one payment intent per order, succeeded for the paid
ones); every terminal order got its email (receipt or failure notice) and every customer one welcome;
no work queue holds anything. A dead-letter queue may hold only jobs that the redrive policy parked
after maxReceiveCount failed receives (at 30% + 10% provider faults, plus kills, about one job in a
thousand fails eight times running); none parked by a worker as poison or as a configuration fault.
As an operator would once the provider is well, the test redrives them, and they complete too.

Email is at least once in one documented window (`shop.service_layer.notifications`): a worker killed after SES
accepted a message and before its marker was settled leaves a claim whose outcome nobody knows, and
once the claim's lease has lapsed the next delivery sends again. A second copy is accepted only when
it went out after that lease; any other duplicate fails the test.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from localcloud.emulator import emulator_session
from localcloud.operations import list_mail, queue_overview, redrive_dlq
from localcloud.payments import FaultConfig
from localcloud.runtime import LambdaRuntime
from localcloud.stack import LocalCloud
from tests.reliability.conftest import StartCloud
from tests.reliability.shop_client import ShopClient, order_body
from tests.reliability.timings import COMPRESSED_TIMINGS, EMAIL_CLAIM_LEASE_S, WORKER_TIMEOUT_S
from tests.support.cloud import wait_for

pytestmark = pytest.mark.slow

CUSTOMERS = 20
ORDERS_PER_CUSTOMER = 15
# Two orders in fifteen are paid with a card that the provider declines.
DECLINING_CARDS = ("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds")
PLACING_THREADS = 4
WORKERS = ("PaymentWorkerFunction", "NotificationWorkerFunction")
# 30% transient errors (half 500, half 429) and 10% hangs that outlast the client's read timeout.
PROVIDER_FAULTS = FaultConfig(error_rate=0.15, rate_limit_rate=0.15, hang_rate=0.10, hang_seconds=3.0)
# Between kills; each one also costs the killed function a cold start.
KILL_INTERVAL_S = (4.0, 8.0)
# Both work queues' redrive policy in template.yaml.
MAX_RECEIVE_COUNT = 8
# Longer than an SQS poller's long poll (1 s), so that a job between two queues is seen.
QUIET_RECHECK_S = 2.5
# Upper bounds for waiting, never expectations of speed.
SETTLE_TIMEOUT_S = 480
READ_TIMEOUT_S = 60


@dataclass(frozen=True)
class PlacedOrder:
    id: str
    customer: str
    payment_method: str

    @property
    def expected_status(self) -> str:
        return "payment_failed" if self.payment_method in DECLINING_CARDS else "paid"

    @property
    def email_subject(self) -> str:
        if self.expected_status == "paid":
            return f"Receipt for order {self.id}"
        return f"Payment failed for order {self.id}"


@dataclass
class WorkerKiller:
    """From a thread, SIGKILLs a random busy worker process of a random one of `functions` every so often."""

    runtime: LambdaRuntime
    functions: Sequence[str]
    rng: random.Random
    kills: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def running(self) -> Iterator[WorkerKiller]:
        thread = threading.Thread(target=self._run, name="worker-killer", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(*KILL_INTERVAL_S)):
            # Only a worker in the middle of a batch; an idle function is spared this round, so
            # the kills follow the load and do not hunt down the last few jobs.
            function = self.rng.choice(self.functions)
            busy = self.runtime.busy_worker_pids(function)
            if not busy:
                continue
            try:
                os.kill(self.rng.choice(busy), signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.kills[function] += 1


@dataclass
class ChaosRun:
    """What the run did, for the assertions and the printed counts."""

    placed: list[PlacedOrder]
    statuses: dict[str, str]
    charges: dict[str, list[dict[str, Any]]]
    mail: dict[tuple[str, str], list[datetime]]
    parked: list[dict[str, Any]]
    phases_s: dict[str, float]

    @property
    def repeated_mail(self) -> dict[tuple[str, str], list[datetime]]:
        return {key: sent_at for key, sent_at in self.mail.items() if len(sent_at) > 1}


def test_under_provider_faults_and_killed_workers_every_order_settles_once_with_its_email(
    start_cloud: StartCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    cloud = start_cloud(COMPRESSED_TIMINGS)
    assert cloud.payments is not None and cloud.runtime is not None and cloud.gateway is not None
    cloud.payments.set_faults(PROVIDER_FAULTS)
    seed = random.randrange(2**32)
    killer = WorkerKiller(cloud.runtime, WORKERS, random.Random(seed))

    # When
    run = run_chaos(cloud, killer)

    # Then
    assert run.statuses == {order.id: order.expected_status for order in run.placed}
    assert {order_id: [intent["status"] for intent in intents] for order_id, intents in run.charges.items()} == {
        order.id: ["succeeded" if order.expected_status == "paid" else "requires_payment_method"]
        for order in run.placed
    }
    for job in run.parked:
        # Parked by the redrive policy after maxReceiveCount failed receives, not by a worker as
        # poison or as a configuration fault (those carry the worker's reason).
        assert "dead_letter_reason" not in job.get("MessageAttributes", {}), job
        assert int(job["Attributes"]["ApproximateReceiveCount"]) > MAX_RECEIVE_COUNT, job
    customers = {order.customer for order in run.placed}
    assert set(run.mail) == {(order.customer, order.email_subject) for order in run.placed} | {
        (customer, "Welcome to the shop") for customer in customers
    }
    for key, sent_at in run.repeated_mail.items():
        # A resend claims only after the first claim's lease has lapsed, and the first send went
        # out within one invocation of that claim.
        gaps = [later.timestamp() - earlier.timestamp() for earlier, later in zip(sent_at, sent_at[1:], strict=False)]
        assert min(gaps) >= EMAIL_CLAIM_LEASE_S - WORKER_TIMEOUT_S, (key, sent_at)
    assert all(queue.visible == queue.in_flight == queue.delayed == 0 for queue in queue_overview(cloud.emulator.url))

    with capsys.disabled():
        print_report(cloud, run, killer, seed)


def run_chaos(cloud: LocalCloud, killer: WorkerKiller) -> ChaosRun:
    """Place the orders with the killer running, wait for the pipeline to finish, redrive what was parked."""
    assert cloud.gateway is not None and cloud.payments is not None
    started = time.monotonic()
    phases_s: dict[str, float] = {}
    with killer.running():
        customers, placed = place_orders(cloud.gateway.url)
        phases_s["placing"] = time.monotonic() - started
        wait_for(lambda: quiet_pipeline(cloud), timeout_s=SETTLE_TIMEOUT_S, what="the pipeline to finish its work")
        phases_s["settling"] = time.monotonic() - started
    # What the redrive policy parked waits for an operator, who redrives it once the provider is well.
    cloud.payments.set_faults(FaultConfig())
    parked = dead_lettered_jobs(cloud)
    for dlq_url in {url for url, _ in parked}:
        redrive_dlq(cloud.emulator.url, dlq_url)
    if parked:
        wait_for(lambda: quiet_pipeline(cloud), timeout_s=SETTLE_TIMEOUT_S, what="the redriven jobs to complete")
        phases_s["redriving"] = time.monotonic() - started
    return ChaosRun(
        placed=placed,
        statuses={order["id"]: order["status"] for customer in customers for order in customer.all_orders()},
        charges=intents_by_order(cloud),
        mail=sent_mail(cloud),
        parked=[job for _, job in parked],
        phases_s=phases_s,
    )


def place_orders(base_url: str) -> tuple[list[ShopClient], list[PlacedOrder]]:
    """Sign up every customer and place their orders, a few customers at a time."""
    customers = [ShopClient(base_url) for _ in range(CUSTOMERS)]

    def place_all(customer: ShopClient) -> list[PlacedOrder]:
        customer.sign_up()
        placed = []
        for index in range(ORDERS_PER_CUSTOMER):
            card = DECLINING_CARDS[index // 6 % 2] if index % 6 == 5 else "pm_card_visa"
            created = customer.call("POST", "/orders", order_body(card))
            assert created.status == 201, created
            placed.append(PlacedOrder(created.body["id"], customer.email, card))
        return placed

    with ThreadPoolExecutor(PLACING_THREADS) as pool:
        placed = [order for orders in pool.map(place_all, customers) for order in orders]
    return customers, placed


def quiet_pipeline(cloud: LocalCloud) -> bool | None:
    """True once no work queue holds a message in any state, twice in a row; dead-letter queues are judged apart.

    Twice, because the queues are read one after another: a payment job that queues its email job
    and is deleted between the two reads looks like quiet once. The second read, after more than a
    poll, sees the email job in flight, or its work is done: an email job queues nothing further.
    """
    for pause_s in (QUIET_RECHECK_S, 0):
        work_queues = [queue for queue in queue_overview(cloud.emulator.url) if not queue.is_dead_letter_queue]
        if any(queue.visible or queue.in_flight or queue.delayed for queue in work_queues):
            return None
        time.sleep(pause_s)
    return True


def dead_lettered_jobs(cloud: LocalCloud) -> list[tuple[str, dict[str, Any]]]:
    """(queue URL, message) of every message in a dead-letter queue, left in place."""
    sqs = emulator_session(cloud.config.region).client("sqs", endpoint_url=cloud.emulator.url)
    found: list[tuple[str, dict[str, Any]]] = []
    for queue in queue_overview(cloud.emulator.url):
        if not queue.is_dead_letter_queue:
            continue
        assert queue.in_flight == queue.delayed == 0, queue
        seen: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + READ_TIMEOUT_S
        while len(seen) < queue.visible and time.monotonic() < deadline:
            received = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            seen.update((message["MessageId"], dict(message)) for message in received.get("Messages", []))
        assert len(seen) == queue.visible, f"could not read the {queue.visible} messages of {queue.name}"
        found.extend((queue.url, message) for message in seen.values())
    return found


def intents_by_order(cloud: LocalCloud) -> dict[str, list[dict[str, Any]]]:
    assert cloud.payments is not None
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for intent in cloud.payments.intents():
        metadata: Any = intent["metadata"]
        grouped[metadata["order_id"]].append(intent)
    return dict(grouped)


def sent_mail(cloud: LocalCloud) -> dict[tuple[str, str], list[datetime]]:
    """When each (recipient, subject) was sent, every copy, oldest first."""
    mail: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for message in list_mail(cloud.emulator.url):
        assert message.timestamp is not None and message.subject is not None
        for recipient in message.to:
            mail[(recipient, message.subject)].append(message.timestamp)
    return {key: sorted(sent_at) for key, sent_at in mail.items()}


def print_report(cloud: LocalCloud, run: ChaosRun, killer: WorkerKiller, seed: int) -> None:
    assert cloud.payments is not None and cloud.runtime is not None
    stats = cloud.runtime.stats()
    outcome = Counter(run.statuses.values())
    copies = Counter(subject.split(" for order ")[0] for (_, subject), sent_at in run.mail.items() for _ in sent_at)
    invocations = ", ".join(f"{name} {stats[name].invocations} ({stats[name].errors} failed)" for name in WORKERS)
    phases = ", ".join(f"{phase} done at {seconds:.0f} s" for phase, seconds in run.phases_s.items())
    lines = [
        f"chaos: {len(run.placed)} orders of {CUSTOMERS} customers; {phases} (kill seed {seed})",
        f"  orders: {outcome['paid']} paid, {outcome['payment_failed']} payment_failed",
        f"  provider: {sum(map(len, run.charges.values()))} payment intents for {len(run.charges)} orders; "
        f"faults injected: {cloud.payments.injected_faults()}",
        f"  workers killed mid-batch: {dict(killer.kills)}; invocations: {invocations}",
        f"  email: {copies['Receipt']} receipts, {copies['Payment failed']} failure notices, "
        f"{copies['Welcome to the shop']} welcomes; sent again after a lapsed claim: {len(run.repeated_mail)}",
        f"  dead-letter queues: {len(run.parked)} jobs parked by the redrive policy, redriven and completed; "
        "every queue empty at the end",
    ]
    print("\n" + "\n".join(lines))
