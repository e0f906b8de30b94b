"""The embedded AWS emulator: its lifecycle, its port, and its own routes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.emulator import Emulator, emulator_session
from localcloud.http_server import PortInUseError
from localcloud.local_access import TOOL_HEADERS


@pytest.fixture
def start_emulator() -> Iterator[Callable[[int], Emulator]]:
    started: list[Emulator] = []

    def start(port: int = 0) -> Emulator:
        emulator = Emulator(port)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def occupied_port() -> Iterator[int]:
    holder = socket.create_server(("127.0.0.1", 0))
    yield holder.getsockname()[1]
    holder.close()


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(TOOL_HEADERS)), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_port_zero_binds_a_free_port_that_serves_aws_calls(start_emulator: Callable[[int], Emulator]) -> None:
    # Given an emulator started on port 0
    emulator = start_emulator(0)

    # When a boto3 client creates and lists a queue through its URL
    sqs = emulator_session("us-east-1").client("sqs", endpoint_url=emulator.url)
    sqs.create_queue(QueueName="lifecycle-check")
    queue_urls = sqs.list_queues(QueueNamePrefix="lifecycle-check")["QueueUrls"]

    # Then it bound a real port on 127.0.0.1 and answered
    assert emulator.port > 0
    assert emulator.url == f"http://127.0.0.1:{emulator.port}"
    assert [url.rsplit("/", 1)[-1] for url in queue_urls] == ["lifecycle-check"]
    assert emulator.startup_s is not None


def test_a_taken_port_fails_at_once_with_one_readable_line(occupied_port: int) -> None:
    # Given a port that another program listens on
    emulator = Emulator(occupied_port)

    # When the emulator starts on it
    with pytest.raises(PortInUseError) as raised:
        emulator.start()

    # Then the error is one line naming the port, and nothing is left running
    message = str(raised.value)
    assert f"port {occupied_port}" in message
    assert "in use" in message
    assert "\n" not in message
    assert not emulator.running


def test_stop_releases_the_port_for_the_next_start(start_emulator: Callable[[int], Emulator]) -> None:
    # Given an emulator that ran and stopped
    first = start_emulator(0)
    port = first.port
    first.stop()

    # When a new emulator starts on the same port
    second = start_emulator(port)

    # Then it binds it
    assert second.port == port
    assert not first.running


def test_the_context_manager_stops_the_emulator_on_exit() -> None:
    # Given an emulator used as a context manager
    with Emulator() as emulator:
        port = emulator.port
        assert emulator.running

    # Then on exit it no longer runs and its port is free again
    assert not emulator.running
    socket.create_server(("127.0.0.1", port)).close()


def test_an_out_of_range_port_is_rejected() -> None:
    with pytest.raises(ValueError, match="between 0 and 65535"):
        Emulator(70000)


def test_the_port_of_an_emulator_that_is_not_running_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = Emulator().url


def test_starting_twice_is_an_error(start_emulator: Callable[[int], Emulator]) -> None:
    emulator = start_emulator(0)
    with pytest.raises(RuntimeError, match="already running"):
        emulator.start()


def test_reset_empties_every_service(start_emulator: Callable[[int], Emulator]) -> None:
    # Given an emulator with a queue
    emulator = start_emulator(0)
    sqs = emulator_session("us-east-1").client("sqs", endpoint_url=emulator.url)
    sqs.create_queue(QueueName="to-be-forgotten")

    # When it is reset
    emulator.reset()

    # Then the queue is gone
    assert sqs.list_queues(QueueNamePrefix="to-be-forgotten").get("QueueUrls", []) == []


def test_an_unknown_localcloud_route_answers_404(start_emulator: Callable[[int], Emulator]) -> None:
    emulator = start_emulator(0)

    status, document = _get(f"{emulator.url}/_localcloud/nothing-here")

    assert status == 404
    assert "no such localcloud route" in str(document["error"])


def test_the_metrics_route_rejects_a_bad_window(start_emulator: Callable[[int], Emulator]) -> None:
    emulator = start_emulator(0)

    status, document = _get(f"{emulator.url}/_localcloud/metrics?region=us-east-1&window_s=soon")

    assert status == 400
    assert "window_s" in str(document["error"])


def test_the_metrics_route_requires_a_region(start_emulator: Callable[[int], Emulator]) -> None:
    emulator = start_emulator(0)

    status, document = _get(f"{emulator.url}/_localcloud/metrics")

    assert status == 400
    assert "region" in str(document["error"])


def _conditional_put(table: str, key: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": key}}, "ConditionExpression": "attribute_not_exists(pk)"}}


def _new_table(emulator: Emulator) -> tuple[Any, str]:
    """A DynamoDB client and a table of its own (moto's data is shared by every emulator of the process)."""
    dynamodb = emulator_session("us-east-1").client("dynamodb", endpoint_url=emulator.url)
    table = f"accounts-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb, table


def test_a_transaction_retried_with_its_client_request_token_writes_once_and_succeeds_as_in_dynamodb(
    start_emulator: Callable[[int], Emulator],
) -> None:
    # Given a conditional transaction that went through once
    dynamodb, table = _new_table(start_emulator(0))
    token = uuid.uuid4().hex
    call = {"TransactItems": [_conditional_put(table, "ada")], "ClientRequestToken": token}
    dynamodb.transact_write_items(**call)

    # When the SDK retries it with the same token, as it does after a lost answer
    dynamodb.transact_write_items(**call)

    # Then the retry succeeds without a second write; another call with the same token, or the
    # same writes with a new token, are refused as DynamoDB refuses them
    assert dynamodb.scan(TableName=table)["Count"] == 1
    with pytest.raises(dynamodb.exceptions.IdempotentParameterMismatchException):
        dynamodb.transact_write_items(TransactItems=[_conditional_put(table, "grace")], ClientRequestToken=token)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[_conditional_put(table, "ada")], ClientRequestToken=uuid.uuid4().hex
        )


def test_a_cancelled_transaction_is_not_remembered_so_its_retry_runs_again(
    start_emulator: Callable[[int], Emulator],
) -> None:
    # Given a transaction cancelled because its item already exists
    dynamodb, table = _new_table(start_emulator(0))
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "ada"}})
    call = {"TransactItems": [_conditional_put(table, "ada")], "ClientRequestToken": uuid.uuid4().hex}
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(**call)

    # When the item is gone and the same call is retried
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "ada"}})
    dynamodb.transact_write_items(**call)

    # Then it ran and wrote the item
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "ada"}})["Item"] == {"pk": {"S": "ada"}}
