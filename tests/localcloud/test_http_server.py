"""localcloud's HTTP server, through the API gateway and the payment provider: framing, limits, keep-alive, backlog."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.gateway import MAX_REQUEST_BODY_BYTES, MAX_REQUEST_HEAD_BYTES, ApiGateway
from localcloud.payments import PaymentProvider
from tests.localcloud.in_process_invoker import InProcessInvoker
from tests.localcloud.spec_builders import api_stack, route

PATIENCE_S = 30.0
CONCURRENT_CONNECTIONS = 200


def echo_body(event: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"body": event["body"], "path": event["path"]})}


def slow_answer(event: Any) -> dict[str, Any]:
    # Long enough that every connection of a burst is open at the same time.
    time.sleep(0.2)
    return {"statusCode": 201, "body": "{}"}


@pytest.fixture
def gateway() -> Iterator[ApiGateway]:
    stack = api_stack({"Echo": (route("/echo", "ANY"),), "Slow": (route("/auth/register", "POST"),)})
    gateway = ApiGateway(stack, InProcessInvoker({"Echo": echo_body, "Slow": slow_answer}))
    gateway.start()
    yield gateway
    gateway.stop()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def exchange(url: str, raw: bytes) -> bytes:
    """Sends raw bytes, then reads until the server closes the connection."""
    with socket.create_connection(address(url), timeout=PATIENCE_S) as connection:
        # The server may stop reading once it has refused the request.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(raw)
        return read_to_end(connection)


def read_to_end(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def responses(answer: bytes) -> list[tuple[int, bytes]]:
    """The (status, body) of each response in a stream of them, framed by Content-Length."""
    parsed = []
    while answer:
        head, _, rest = answer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))
        parsed.append((int(lines[0].split(b" ")[1]), rest[:length]))
        answer = rest[length:]
    return parsed


def statuses(answer: bytes) -> list[int]:
    return [status for status, _ in responses(answer)]


def request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


POST_HEAD = "POST /echo HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("a negative chunk size", request(POST_HEAD + "Transfer-Encoding: chunked\n", b"-1\r\nabc\r\n0\r\n\r\n")),
        ("a chunk size that is not hex", request(POST_HEAD + "Transfer-Encoding: chunked\n", b"zz\r\nab\r\n0\r\n\r\n")),
        ("a chunk without its CRLF", request(POST_HEAD + "Transfer-Encoding: chunked\n", b"2\r\nabX0\r\n\r\n")),
        (
            "Content-Length and Transfer-Encoding together",
            request(POST_HEAD + "Content-Length: 3\nTransfer-Encoding: chunked\n", b"3\r\nabc\r\n0\r\n\r\n"),
        ),
        ("two different Content-Lengths", request(POST_HEAD + "Content-Length: 3\nContent-Length: 4\n", b"abcd")),
        ("a negative Content-Length", request(POST_HEAD + "Content-Length: -1\n", b"abc")),
        ("a Content-Length that is not a number", request(POST_HEAD + "Content-Length: 3x\n", b"abc")),
        (
            "a Transfer-Encoding that only contains chunked",
            request(POST_HEAD + "Transfer-Encoding: gzip, chunked\n", b"3\r\nabc\r\n0\r\n\r\n"),
        ),
        ("a bare LF in the head", b"GET /echo HTTP/1.1\nHost: 127.0.0.1\n\n"),
        ("two Host headers", request("GET /echo HTTP/1.1\nHost: 127.0.0.1\nHost: evil.example\n")),
        ("a body cut short", request(POST_HEAD + "Content-Length: 10\n", b"abc")),
    ],
)
def test_malformed_framing_is_refused_with_400_and_the_connection_closed(
    gateway: ApiGateway, case: str, raw: bytes
) -> None:
    # When a request's framing is ambiguous or invalid
    with socket.create_connection(address(gateway.url), timeout=PATIENCE_S) as connection:
        connection.sendall(raw)
        if case == "a body cut short":
            connection.shutdown(socket.SHUT_WR)
        answer = read_to_end(connection)

    # Then the only answer is a 400 in API Gateway's shape, and nothing reached the function
    assert statuses(answer) == [400], case
    assert b'{"message":' in answer
    assert b"Connection: close" in answer


def test_a_chunk_size_past_the_body_limit_answers_413_without_keeping_the_body(gateway: ApiGateway) -> None:
    # Given a chunk that claims 2^64 - 1 bytes, followed by more bytes than the limit
    head = request(POST_HEAD + "Transfer-Encoding: chunked\n", b"FFFFFFFFFFFFFFFF\r\n")

    # When it is sent
    answer = exchange(gateway.url, head + b"x" * (MAX_REQUEST_BODY_BYTES + 65536))

    # Then the gateway stops at the limit with API Gateway's 413
    assert statuses(answer) == [413]
    assert b'{"message":"Request Too Long"}' in answer


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_read(gateway: ApiGateway) -> None:
    # When a request declares a body larger than the limit and sends none of it
    with socket.create_connection(address(gateway.url), timeout=PATIENCE_S) as connection:
        connection.sendall(request(POST_HEAD + f"Content-Length: {MAX_REQUEST_BODY_BYTES + 1}\n"))
        answer = read_to_end(connection)

    # Then the 413 comes at once
    assert statuses(answer) == [413]


@pytest.mark.parametrize("header_bytes", [MAX_REQUEST_HEAD_BYTES + 1, 5_400_000])
def test_request_heads_over_the_limit_answer_431(gateway: ApiGateway, header_bytes: int) -> None:
    # When the headers of one request add up past the limit
    raw = request(f"GET /echo HTTP/1.1\nHost: 127.0.0.1\nX-Filler: {'a' * header_bytes}\n")

    # Then the answer is 431
    assert statuses(exchange(gateway.url, raw)) == [431]


@pytest.mark.parametrize("method", ["TRACE", "TRACK", "CONNECT", "PROPFIND"])
def test_methods_api_gateway_does_not_route_get_its_own_answer(gateway: ApiGateway, method: str) -> None:
    # When a method API Gateway does not route is sent, even to a path with an ANY route
    answer = exchange(gateway.url, request(f"{method} /echo HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n"))

    # Then it is API Gateway's JSON refusal, not an HTML page, with no server banner
    head, _, body = answer.partition(b"\r\n\r\n")
    assert statuses(answer) == [403]
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert b"server:" not in head.lower()


def test_a_request_target_that_is_not_a_path_is_refused(gateway: ApiGateway) -> None:
    # When a proxy-style CONNECT names a host instead of a path
    answer = exchange(gateway.url, request("CONNECT example.com:443 HTTP/1.1\nHost: example.com:443\n"))

    # Then it is refused
    assert statuses(answer) == [400]


def test_pipelined_requests_on_one_connection_get_their_own_answers_in_order(gateway: ApiGateway) -> None:
    # Given two requests sent back to back on one keep-alive connection, the first with a body
    first = request(POST_HEAD + "Content-Length: 5\n", b"first")
    second = request("GET /echo?second HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n")

    # When both are sent in one write
    answer = exchange(gateway.url, first + second)

    # Then each gets its answer, in order, and the body of the first did not leak into the second
    (first_status, first_body), (second_status, second_body) = responses(answer)
    assert (first_status, second_status) == (200, 200)
    assert json.loads(first_body)["body"] == "first"
    assert json.loads(second_body)["body"] is None


def test_after_a_refused_request_nothing_else_on_the_connection_is_answered(gateway: ApiGateway) -> None:
    # Given an invalid request with a smuggled one behind it
    smuggled = request("GET /echo HTTP/1.1\nHost: 127.0.0.1\n")
    invalid = request(POST_HEAD + "Content-Length: 3\nTransfer-Encoding: chunked\n", b"0\r\n\r\n" + smuggled)

    # When they are sent together
    answer = exchange(gateway.url, invalid)

    # Then only the refusal comes back
    assert statuses(answer) == [400]


def test_a_burst_of_concurrent_connections_is_served_without_a_reset(gateway: ApiGateway) -> None:
    # Given many clients that connect at the same moment
    results: list[int | str] = []
    lock = threading.Lock()
    start = threading.Barrier(CONCURRENT_CONNECTIONS)
    raw = request(POST_HEAD + "Content-Length: 2\nConnection: close\n", b"{}").replace(b"/echo", b"/auth/register")

    def client() -> None:
        start.wait()
        try:
            outcome: int | str = statuses(exchange(gateway.url, raw))[0]
        except OSError as error:
            outcome = type(error).__name__
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(CONCURRENT_CONNECTIONS)]

    # When each registers
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_S)

    # Then every one got its 201
    assert results == [201] * CONCURRENT_CONNECTIONS


def test_the_payment_provider_shares_the_strict_framing() -> None:
    # Given the payment provider
    with PaymentProvider(port=0) as provider:
        # When a request with Content-Length and Transfer-Encoding together reaches it
        raw = request(
            "POST /v1/payment_intents HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer sk_test_x\n"
            "Content-Length: 3\nTransfer-Encoding: chunked\n",
            b"0\r\n\r\n",
        )
        answer = exchange(provider.url, raw)

    # Then it is refused in Stripe's error shape
    assert statuses(answer) == [400]
    assert b'"invalid_request_error"' in answer
