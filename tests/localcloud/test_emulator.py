"""The embedded AWS emulator: its lifecycle, its port, and its own routes."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from localcloud.emulator import Emulator, PortInUseError, emulator_session


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
        with urllib.request.urlopen(url, timeout=10) as response:
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
