"""The login limits against moto: the handler's 429s, and the counters' conditional writes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

from localcloud.spec import StackSpec
from shop.adapters.login_attempts import DynamoLoginAttempts, attempts_key
from shop.service_layer.ports import AttemptAdmitted, AttemptKey, AttemptRefused, LoginBackoff, LoginFailureLimit
from tests.support.events import api_event, json_body

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
PASSWORD = "correct horse battery staple"
LIMIT = LoginFailureLimit(failures=5, window_seconds=900)
BACKOFF = LoginBackoff(free_failures=3, window_seconds=86400, max_delay_seconds=60)
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# The sample events' requestContext.identity.sourceIp.
SAMPLE_ADDRESS = "203.0.113.10"
ADA = AttemptKey("ada@example.com", SAMPLE_ADDRESS)


@pytest.fixture
def login_env(stack: StackSpec, function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The login function's own environment from the template, on top of the Globals."""
    environment = dict(stack.functions["LoginFunction"].environment)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


@pytest.fixture
def attempts(function_env: dict[str, str], dynamodb: Any) -> DynamoLoginAttempts:
    return DynamoLoginAttempts(dynamodb, function_env["TABLE_NAME"])


def stored_counter(dynamodb: Any, table: str, attempt_key: AttemptKey) -> dict[str, Any]:
    key = {name: {"S": value} for name, value in attempts_key(attempt_key).items()}
    item: dict[str, Any] = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return item


def admitted(outcome: AttemptAdmitted | AttemptRefused) -> AttemptAdmitted:
    assert isinstance(outcome, AttemptAdmitted), outcome
    return outcome


def login(invoke: Invoke, email: str, password: str, source: str = SAMPLE_ADDRESS) -> dict[str, Any]:
    event = api_event("login", body={"email": email, "password": password})
    event["requestContext"]["identity"]["sourceIp"] = source
    return invoke("login", event)


def test_the_template_configures_five_failures_in_fifteen_minutes(login_env: dict[str, str]) -> None:
    assert login_env["LOGIN_FAILURE_LIMIT"] == "5"
    assert login_env["LOGIN_FAILURE_WINDOW_SECONDS"] == "900"


@pytest.mark.usefixtures("login_env")
def test_the_sixth_login_after_five_failures_is_a_429_with_retry_after_even_with_the_right_password(
    invoke: Invoke,
) -> None:
    registered = invoke(
        "register", api_event("register", body={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"})
    )
    failures = [login(invoke, "ada@example.com", f"guess number {n}") for n in range(5)]

    throttled = login(invoke, "ada@example.com", PASSWORD)

    assert registered["statusCode"] == 201
    assert [response["statusCode"] for response in failures] == [401] * 5
    assert throttled["statusCode"] == 429
    assert throttled["headers"]["Content-Type"] == "application/problem+json"
    assert 0 < int(throttled["headers"]["Retry-After"]) <= 900
    assert throttled["headers"]["Cache-Control"] == "no-store"
    assert json_body(throttled)["status"] == 429


@pytest.mark.usefixtures("login_env")
def test_an_unknown_email_gets_the_same_401s_and_the_same_429(invoke: Invoke) -> None:
    invoke("register", api_event("register", body={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}))
    known = [login(invoke, "ada@example.com", "wrong password") for _ in range(6)]
    unknown = [login(invoke, "nobody@example.com", "wrong password") for _ in range(6)]

    def shape(response: dict[str, Any]) -> tuple[int, str, str]:
        problem = json_body(response)
        return response["statusCode"], problem["title"], problem["detail"].split(";")[0]

    assert [shape(r) for r in known] == [shape(r) for r in unknown]
    assert [r["statusCode"] for r in unknown] == [401] * 5 + [429]


def test_the_counter_item_carries_its_window_and_the_tables_ttl_attribute(
    attempts: DynamoLoginAttempts, dynamodb: Any, function_env: dict[str, str]
) -> None:
    first = attempts.admit(ADA, NOON, LIMIT)
    attempts.admit(ADA, NOON + timedelta(seconds=30), LIMIT)

    item = stored_counter(dynamodb, function_env["TABLE_NAME"], ADA)
    start = int(NOON.timestamp())
    assert first == AttemptAdmitted(key=ADA, window_start=start)
    assert item["attempts"] == {"N": "2"}
    assert item["window_start"] == {"N": str(start)}
    assert item["expires_at"] == {"N": str(start + 900)}


def test_a_full_window_refuses_until_it_ends(attempts: DynamoLoginAttempts) -> None:
    for _ in range(5):
        attempts.admit(ADA, NOON, LIMIT)

    refused = attempts.admit(ADA, NOON + timedelta(seconds=899), LIMIT)
    reopened = attempts.admit(ADA, NOON + timedelta(seconds=900), LIMIT)

    assert refused == AttemptRefused(reopens_at=int(NOON.timestamp()) + 900)
    assert reopened == AttemptAdmitted(key=ADA, window_start=int(NOON.timestamp()) + 900)


def test_an_ended_window_that_ttl_has_not_deleted_yet_is_replaced(
    attempts: DynamoLoginAttempts, dynamodb: Any, function_env: dict[str, str]
) -> None:
    for _ in range(5):
        attempts.admit(ADA, NOON, LIMIT)
    a_day_later = NOON + timedelta(days=1)

    admitted = attempts.admit(ADA, a_day_later, LIMIT)

    item = stored_counter(dynamodb, function_env["TABLE_NAME"], ADA)
    assert admitted == AttemptAdmitted(key=ADA, window_start=int(a_day_later.timestamp()))
    assert item["attempts"] == {"N": "1"}
    assert item["expires_at"] == {"N": str(int(a_day_later.timestamp()) + 900)}


def test_forgiving_takes_back_one_attempt_and_only_in_its_own_window(
    attempts: DynamoLoginAttempts, dynamodb: Any, function_env: dict[str, str]
) -> None:
    old = admitted(attempts.admit(ADA, NOON, LIMIT))
    attempts.admit(ADA, NOON, LIMIT)
    attempts.forgive(old)
    later = NOON + timedelta(seconds=1000)
    attempts.admit(ADA, later, LIMIT)

    attempts.forgive(old)

    item = stored_counter(dynamodb, function_env["TABLE_NAME"], ADA)
    assert item["window_start"] == {"N": str(int(later.timestamp()))}
    assert item["attempts"] == {"N": "1"}


@pytest.fixture
def atomic_moto_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each UpdateItem atomically; in-process moto does not across threads.
    Serialising moto's update_item restores that, while the callers still race end to end."""
    lock = threading.RLock()
    original = DynamoDBBackend.update_item

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", locked)


@pytest.mark.usefixtures("atomic_moto_updates")
def test_concurrent_attempts_never_admit_more_than_the_limit(attempts: DynamoLoginAttempts) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: attempts.admit(ADA, NOON, LIMIT), range(24)))

    assert sum(isinstance(outcome, AttemptAdmitted) for outcome in outcomes) == 5
    assert sum(isinstance(outcome, AttemptRefused) for outcome in outcomes) == 19


@pytest.mark.usefixtures("login_env")
def test_a_lockout_from_another_address_does_not_lock_the_owner_out(invoke: Invoke) -> None:
    invoke("register", api_event("register", body={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}))
    guesses = [login(invoke, "ada@example.com", f"guess {n}", source="198.51.100.99") for n in range(5)]

    attacker = login(invoke, "ada@example.com", PASSWORD, source="198.51.100.99")
    owner = login(invoke, "ada@example.com", PASSWORD)

    assert [response["statusCode"] for response in guesses] == [401] * 5
    assert attacker["statusCode"] == 429
    assert "from this address" in json_body(attacker)["detail"]
    assert owner["statusCode"] == 200


def test_the_lock_is_counted_per_address_under_the_email(
    attempts: DynamoLoginAttempts, dynamodb: Any, function_env: dict[str, str]
) -> None:
    other = AttemptKey("ada@example.com", "2001:db8::1")
    for _ in range(5):
        attempts.admit(ADA, NOON, LIMIT)

    refused = attempts.admit(ADA, NOON, LIMIT)
    admitted_elsewhere = attempts.admit(other, NOON, LIMIT)

    assert isinstance(refused, AttemptRefused)
    assert admitted_elsewhere == AttemptAdmitted(key=other, window_start=int(NOON.timestamp()))
    assert attempts_key(other) == {"pk": "EMAIL#ada@example.com", "sk": "LOGIN_ATTEMPTS#SOURCE#2001:db8::1"}
    assert stored_counter(dynamodb, function_env["TABLE_NAME"], other)["attempts"] == {"N": "1"}


def test_the_pace_admits_its_free_failures_then_one_attempt_per_doubling_delay(
    attempts: DynamoLoginAttempts, dynamodb: Any, function_env: dict[str, str]
) -> None:
    start = int(NOON.timestamp())
    free = [attempts.admit_paced("ada@example.com", NOON, BACKOFF) for _ in range(BACKOFF.free_failures)]

    refused = attempts.admit_paced("ada@example.com", NOON, BACKOFF)
    after_one_second = attempts.admit_paced("ada@example.com", NOON + timedelta(seconds=1), BACKOFF)
    refused_again = attempts.admit_paced("ada@example.com", NOON + timedelta(seconds=2), BACKOFF)

    item = stored_counter(dynamodb, function_env["TABLE_NAME"], AttemptKey("ada@example.com"))
    assert all(isinstance(outcome, AttemptAdmitted) for outcome in free)
    assert refused == AttemptRefused(reopens_at=start + 1)
    assert after_one_second == AttemptAdmitted(key=AttemptKey("ada@example.com"), window_start=start)
    assert refused_again == AttemptRefused(reopens_at=start + 1 + 2)
    assert item["sk"] == {"S": "LOGIN_PACE"}
    assert item["attempts"] == {"N": str(BACKOFF.free_failures + 1)}
    assert item["expires_at"] == {"N": str(start + BACKOFF.window_seconds)}


def test_an_ended_pace_window_starts_again_with_free_failures(attempts: DynamoLoginAttempts) -> None:
    for _ in range(BACKOFF.free_failures + 1):
        attempts.admit_paced("ada@example.com", NOON, BACKOFF)
    next_day = NOON + timedelta(seconds=BACKOFF.window_seconds)

    outcomes = [attempts.admit_paced("ada@example.com", next_day, BACKOFF) for _ in range(BACKOFF.free_failures)]

    assert outcomes == [AttemptAdmitted(key=AttemptKey("ada@example.com"), window_start=int(next_day.timestamp()))] * 3


@pytest.mark.usefixtures("atomic_moto_updates")
def test_concurrent_attempts_past_the_free_failures_take_one_slot(attempts: DynamoLoginAttempts) -> None:
    for _ in range(BACKOFF.free_failures):
        attempts.admit_paced("ada@example.com", NOON, BACKOFF)
    slot = NOON + timedelta(seconds=5)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: attempts.admit_paced("ada@example.com", slot, BACKOFF), range(16)))

    assert sum(isinstance(outcome, AttemptAdmitted) for outcome in outcomes) == 1
