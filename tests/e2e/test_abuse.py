"""Abuse over HTTP: brute-force logins are throttled, secrets never reach a log, responses carry security headers.

API Gateway's stage throttling (MethodSettings) is not emulated locally; tests/deploy checks it in
the translated template, with the security headers of the gateway's own answers (GatewayResponses).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localcloud.emulator import emulator_session
from localcloud.operations import DEFAULT_REGION, LAMBDA_LOG_GROUP_PREFIX, list_mail, tail_logs
from tests.support.catalog import E2E_PRODUCTS, seed_local_cloud
from tests.support.cloud import ROOT, RunningCloud, localcloud_up, wait_for

HSTS_MIN_AGE_S = 31_536_000


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


def call(cloud: RunningCloud, method: str, path: str, body: Any = None, **headers: str) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{cloud.api}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers), decoded(response.read(), response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), decoded(error.read(), error.headers))


def decoded(raw: bytes, headers: Any) -> Any:
    return json.loads(raw) if "json" in (headers.get("Content-Type") or "") else raw.decode()


@dataclass
class Customer:
    """A registered customer; `secrets` collects every password and credential the test sent or got."""

    email: str
    password: str
    secrets: list[str] = field(default_factory=list)

    def bearer(self, token: str) -> dict[str, str]:
        header = f"Bearer {token}"
        self.secrets += [token, header, *token.split(".")[1:]]
        return {"Authorization": header}


@pytest.fixture
def new_customer() -> Callable[[RunningCloud], Customer]:
    def make(cloud: RunningCloud) -> Customer:
        customer = Customer(email=f"{uuid.uuid4().hex[:12]}@example.com", password=f"pw-{uuid.uuid4().hex}")
        customer.secrets.append(customer.password)
        body = {"email": customer.email, "password": customer.password, "name": "Ada"}
        answer = call(cloud, "POST", "/auth/register", body)
        assert answer.status == 201, answer.body
        return customer

    return make


def log_in(cloud: RunningCloud, customer: Customer, password: str | None = None) -> Answer:
    if password is not None:
        customer.secrets.append(password)
    return call(cloud, "POST", "/auth/login", {"email": customer.email, "password": password or customer.password})


def fail_logins(cloud: RunningCloud, customer: Customer, times: int) -> list[Answer]:
    return [log_in(cloud, customer, f"wrong-{uuid.uuid4().hex}") for _ in range(times)]


def assert_security_headers(answer: Answer) -> None:
    hsts = answer.header("Strict-Transport-Security") or ""
    max_age = int(hsts.split("max-age=")[1].split(";")[0]) if "max-age=" in hsts else 0
    assert max_age >= HSTS_MIN_AGE_S, (answer.status, hsts)
    assert answer.header("X-Content-Type-Options") == "nosniff", answer.status
    assert answer.header("Cache-Control") == "no-store", answer.status


def test_five_failed_logins_lock_the_email_with_a_429_that_says_when_to_retry(
    cloud: RunningCloud, new_customer: Callable[[RunningCloud], Customer]
) -> None:
    victim, bystander = new_customer(cloud), new_customer(cloud)

    failures = fail_logins(cloud, victim, 5)
    locked = log_in(cloud, victim)
    other = log_in(cloud, bystander)

    assert [answer.status for answer in failures] == [401] * 5
    assert locked.status == 429
    assert locked.header("Content-Type") == "application/problem+json"
    assert locked.body["status"] == 429 and locked.body["title"] == "Too many requests"
    assert 0 < int(locked.header("Retry-After") or "0") <= 900
    assert other.status == 200


def test_an_unknown_email_is_locked_alike_so_the_limit_reveals_no_account(cloud: RunningCloud) -> None:
    ghost = Customer(email=f"{uuid.uuid4().hex[:12]}@example.com", password=f"pw-{uuid.uuid4().hex}")

    failures = fail_logins(cloud, ghost, 5)
    locked = log_in(cloud, ghost)

    assert [answer.status for answer in failures] == [401] * 5
    assert locked.status == 429 and locked.header("Retry-After")


def test_auth_responses_carry_hsts_nosniff_and_no_store(
    cloud: RunningCloud, new_customer: Callable[[RunningCloud], Customer]
) -> None:
    customer = new_customer(cloud)

    answers = {
        "registered": call(
            cloud,
            "POST",
            "/auth/register",
            {"email": f"{uuid.uuid4().hex}@example.com", "password": "x" * 12, "name": "A"},
        ),
        "taken": call(cloud, "POST", "/auth/register", {"email": customer.email, "password": "x" * 12, "name": "A"}),
        "logged in": log_in(cloud, customer),
        "invalid": call(cloud, "POST", "/auth/login", {"email": "not an email"}),
        "refused": fail_logins(cloud, customer, 5)[-1],
        "throttled": log_in(cloud, customer),
    }

    assert [answer.status for answer in answers.values()] == [201, 409, 200, 422, 401, 429]
    for answer in answers.values():
        assert_security_headers(answer)


def test_every_other_function_answer_carries_the_security_headers(
    cloud: RunningCloud, new_customer: Callable[[RunningCloud], Customer]
) -> None:
    customer = new_customer(cloud)
    auth = customer.bearer(log_in(cloud, customer).body["access_token"])
    order = {
        "items": [{"sku": "BOOK-1", "quantity": 1}],
        "currency": "EUR",
        "payment_method": "pm_card_visa",
    }

    answers = [
        call(cloud, "GET", "/health"),
        call(cloud, "GET", "/ready"),
        call(cloud, "GET", "/openapi.json"),
        call(cloud, "GET", "/docs"),
        call(cloud, "GET", "/me", **auth),
        call(cloud, "POST", "/orders", order, **auth),
        call(cloud, "POST", "/orders", {"items": []}, **auth),
        call(cloud, "GET", "/orders", **auth),
        call(cloud, "GET", f"/orders/{uuid.uuid4().hex}", **auth),
    ]

    assert [answer.status for answer in answers] == [200, 200, 200, 200, 200, 201, 422, 200, 404]
    for answer in answers:
        assert_security_headers(answer)


def cloudwatch_messages(cloud: RunningCloud) -> dict[str, list[str]]:
    """Every function's log events in the emulator's CloudWatch Logs, by function name."""
    logs = emulator_session(DEFAULT_REGION).client("logs", endpoint_url=cloud.aws)
    groups = [
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=LAMBDA_LOG_GROUP_PREFIX)
        for group in page["logGroups"]
    ]
    names = [group.removeprefix(LAMBDA_LOG_GROUP_PREFIX) for group in groups]
    return {name: [event.message for event in tail_logs(cloud.aws, name)] for name in names}


def full_customer_journey(
    cloud: RunningCloud, new_customer: Callable[[RunningCloud], Customer]
) -> tuple[list[str], str]:
    """Register, log in, order, get paid and mailed, be refused and locked out; the secrets used, and a request id."""
    first, second = new_customer(cloud), new_customer(cloud)
    auth = first.bearer(log_in(cloud, first).body["access_token"])
    order = {
        "items": [{"sku": "BOOK-1", "quantity": 2}],
        "currency": "EUR",
        "payment_method": "pm_card_visa",
    }
    placed = call(cloud, "POST", "/orders", order, Idempotency_Key=str(uuid.uuid4()), **auth)
    wait_for(
        lambda: call(cloud, "GET", f"/orders/{placed.body['id']}", **auth).body["status"] == "paid" or None,
        what="the order to be paid",
    )
    wait_for(lambda: len([m for m in list_mail(cloud.aws) if first.email in m.to]) >= 2 or None, what="two emails")
    listed = call(cloud, "GET", "/orders", **auth)
    profile = call(cloud, "GET", "/me", **second.bearer(log_in(cloud, second).body["access_token"]))
    forged = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{uuid.uuid4().hex}.{uuid.uuid4().hex}"
    basic = "Basic " + base64.b64encode(f"{first.email}:{first.password}".encode()).decode()
    refused = [
        call(cloud, "GET", "/orders", Authorization=f"Bearer {forged}"),
        call(cloud, "GET", "/me", Authorization=basic),
    ]
    fail_logins(cloud, first, 5)
    locked = log_in(cloud, first)

    assert (placed.status, listed.status, profile.status, locked.status) == (201, 200, 200, 429)
    assert [answer.status for answer in refused] == [401, 401]
    secrets = [*first.secrets, *second.secrets, forged, f"Bearer {forged}", basic, basic.split(" ")[1]]
    return secrets, locked.header("x-amzn-RequestId") or ""


def test_no_password_token_or_authorization_header_appears_in_any_log_line(
    tmp_path: Path, new_customer: Callable[[RunningCloud], Customer]
) -> None:
    # A cloud of its own, at the DEBUG level the dev stage deploys with, so its whole output is this run's.
    extra = [
        "--stack-name", "shop-abuse", "--reset", "--no-watch",
        "--parameter-overrides", "PaymentApiBaseUrl=http://127.0.0.1:{payments_port}", "LogLevel=DEBUG",
    ]  # fmt: skip
    with localcloud_up(ROOT / "template.yaml", tmp_path / "state", extra) as cloud:
        seed_local_cloud(cloud.aws, E2E_PRODUCTS)
        secrets, locked_request_id = full_customer_journey(cloud, new_customer)
        # Lines reach CloudWatch Logs in the background: wait until the last refusal has landed.
        cloudwatch = wait_for(
            lambda: messages if logged(locked_request_id, (messages := cloudwatch_messages(cloud))) else None,
            what="the login function's last lines in CloudWatch Logs",
        )
    stdout = cloud.output

    scanned = [*stdout, *(line for lines in cloudwatch.values() for line in lines)]
    leaked = {secret for secret in secrets if any(secret in line for line in scanned)}

    assert leaked == set()
    assert any(locked_request_id in line for line in stdout)
    assert {"LoginFunction", "AuthorizerFunction", "PaymentWorkerFunction", "NotificationWorkerFunction"} <= {
        name.removeprefix("shop-abuse-") for name in cloudwatch
    }


def logged(request_id: str, messages: dict[str, list[str]]) -> bool:
    return any(
        request_id in line for name, lines in messages.items() if name.endswith("LoginFunction") for line in lines
    )
