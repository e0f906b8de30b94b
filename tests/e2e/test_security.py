"""The local stack as an attack surface: each request of the hardening review, replayed against `localcloud up`."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
import requests
from mypy_boto3_secretsmanager import SecretsManagerClient

from tests.support.cloud import RunningCloud

EVIL_ORIGIN = "https://evil.example"
PASSWORD = "correct horse battery staple"
CONCURRENT_CONNECTIONS = 200
PATIENCE_S = 120
CONSOLE_API = "/_localcloud/api/"


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def raw_exchange(url: str, raw: bytes) -> bytes:
    """Sends raw bytes, then reads until the server closes the connection."""
    with socket.create_connection(address(url), timeout=PATIENCE_S) as connection:
        # The server may stop reading once it has refused the request.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def head(lines: str, host: str) -> bytes:
    return (lines.replace("{host}", host).replace("\n", "\r\n") + "\r\n").encode()


def secrets_client(cloud: RunningCloud) -> SecretsManagerClient:
    # Any key: what an aws CLI or SDK user of the local stack configures.
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("secretsmanager", endpoint_url=cloud.aws)


def sign_up(cloud: RunningCloud) -> tuple[str, str]:
    email = f"security-{uuid.uuid4().hex[:8]}@example.com"
    registered = requests.post(
        f"{cloud.api}/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada"}, timeout=60
    )
    assert registered.status_code == 201, registered.text
    login = requests.post(f"{cloud.api}/auth/login", json={"email": email, "password": PASSWORD}, timeout=60)
    assert login.status_code == 200, login.text
    return email, str(login.json()["access_token"])


# The AWS emulator


def test_emulator_grants_no_cors_preflight_to_a_web_page(cloud: RunningCloud) -> None:
    # When a page of another site preflights an SDK-shaped request
    answer = requests.options(
        cloud.aws,
        headers={
            "Origin": EVIL_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-amz-target, content-type",
        },
        timeout=10,
    )

    # Then nothing is granted
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in {name.lower() for name in answer.headers}


def test_emulator_dump_is_refused_to_a_simple_cross_origin_get(cloud: RunningCloud) -> None:
    # When a page of another site loads moto's dump
    answer = requests.get(f"{cloud.aws}/moto-api/data.json", headers={"Origin": EVIL_ORIGIN}, timeout=30)

    # Then neither the signing key nor any account is in the answer
    assert answer.status_code == 403
    assert "secretsmanager" not in answer.text
    assert "@example.com" not in answer.text


@pytest.mark.parametrize(
    "authorization",
    [None, "AWS4-HMAC-SHA256 Credential=made-up", "Bearer made-up"],
    ids=["unsigned", "made-up SigV4", "bearer"],
)
def test_secrets_manager_does_not_answer_without_a_signature_version_4_header(
    cloud: RunningCloud, authorization: str | None
) -> None:
    # Given the stack's signing-key secret, as the SDK sees it
    secrets = secrets_client(cloud)
    names = [secret["Name"] for secret in secrets.list_secrets()["SecretList"]]
    assert names

    # When each is asked for with a made-up or missing signature
    headers = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    answers = [
        requests.post(cloud.aws, data=json.dumps({"SecretId": name}), headers=headers, timeout=10) for name in names
    ]

    # Then none is answered
    assert [answer.status_code for answer in answers] == [403] * len(names)
    assert not any("SecretString" in answer.text for answer in answers)


def test_a_text_plain_reset_of_the_emulator_is_refused_and_the_stack_stays_ready(cloud: RunningCloud) -> None:
    # When a cross-site form posts moto's reset
    answer = requests.post(
        f"{cloud.aws}/moto-api/reset",
        data="x",
        headers={"Content-Type": "text/plain", "Origin": EVIL_ORIGIN},
        timeout=10,
    )
    same_site = requests.post(
        f"{cloud.aws}/moto-api/reset", data="x", headers={"Content-Type": "text/plain"}, timeout=10
    )

    # Then it is refused and every resource is still there
    assert answer.status_code == 403
    assert same_site.status_code == 403
    assert requests.get(f"{cloud.api}/ready", timeout=30).status_code == 200


@pytest.mark.parametrize("server", ["aws", "api", "payments"])
def test_every_server_refuses_a_rebound_host_name(cloud: RunningCloud, server: str) -> None:
    # When a page whose name was rebound to 127.0.0.1 calls a server with its own name as Host
    url = getattr(cloud, server)
    answer = requests.get(f"{url}/health", headers={"Host": "evil.example"}, timeout=10)

    # Then the server refuses
    assert answer.status_code == 403


# The fake payment provider


def intent_count(cloud: RunningCloud) -> int:
    answer = requests.get(
        f"{cloud.payments}/v1/payment_intents?limit=100", headers={"Authorization": "Bearer sk_test_x"}, timeout=10
    )
    assert answer.status_code == 200
    return len(answer.json()["data"])


def test_a_cross_site_reset_of_the_payment_provider_is_refused_and_keeps_the_intents(cloud: RunningCloud) -> None:
    # Given a paid order's intent
    _, token = sign_up(cloud)
    order = requests.post(
        f"{cloud.api}/orders",
        json={
            "items": [{"sku": "BOOK-1", "quantity": 1}],
            "currency": "EUR",
            "payment_method": "pm_card_visa",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert order.status_code == 201, order.text
    deadline = time.monotonic() + PATIENCE_S
    while (before := intent_count(cloud)) == 0:
        assert time.monotonic() < deadline, "the order was never charged"
        time.sleep(0.2)

    # When a page posts /_reset as text/plain
    answer = requests.post(
        f"{cloud.payments}/_reset", data="x", headers={"Content-Type": "text/plain", "Origin": EVIL_ORIGIN}, timeout=10
    )

    # Then it is refused and nothing was forgotten
    assert answer.status_code == 403
    assert intent_count(cloud) >= before > 0


def test_fault_injection_refuses_a_rebound_host_and_a_request_without_the_tool_header(cloud: RunningCloud) -> None:
    # When faults are set with another Host, or without the tool header
    rebound = requests.put(
        f"{cloud.payments}/_faults",
        json={"error_rate": 1.0},
        headers={"Host": "evil.example", "X-Localcloud-Console": "1"},
        timeout=10,
    )
    bare = requests.put(f"{cloud.payments}/_faults", json={"error_rate": 1.0}, timeout=10)

    # Then both are refused and no fault is on
    assert (rebound.status_code, bare.status_code) == (403, 403)
    faults = requests.get(f"{cloud.payments}/_faults", headers={"X-Localcloud-Console": "1"}, timeout=10)
    assert faults.json()["error_rate"] == 0.0


# The API gateway's HTTP handling


POST_REGISTER = "POST /auth/register HTTP/1.1\nHost: {host}\nContent-Type: application/json\n"


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("chunk size -1", POST_REGISTER + "Transfer-Encoding: chunked\n\n-1\r\nabc\r\n0\r\n\r\n"),
        ("CL and TE", POST_REGISTER + "Content-Length: 5\nTransfer-Encoding: chunked\n\n0\r\n\r\n"),
        ("two Content-Lengths", POST_REGISTER + "Content-Length: 2\nContent-Length: 3\n\n{}x"),
        ("TE containing chunked", POST_REGISTER + "Transfer-Encoding: xchunked\n\n0\r\n\r\n"),
    ],
)
def test_ambiguous_framing_is_refused_with_400(cloud: RunningCloud, case: str, raw: str) -> None:
    # When the request's framing is ambiguous
    host = urlsplit(cloud.api).netloc
    answer = raw_exchange(cloud.api, raw.replace("{host}", host).replace("\n", "\r\n").encode())

    # Then it is refused
    assert status_of(answer) == 400, case


def test_a_bare_lf_request_is_refused_with_400(cloud: RunningCloud) -> None:
    host = urlsplit(cloud.api).netloc
    assert status_of(raw_exchange(cloud.api, f"GET /health HTTP/1.1\nHost: {host}\n\n".encode())) == 400


def test_a_chunk_of_2_64_bytes_answers_413_at_the_body_limit(cloud: RunningCloud) -> None:
    # When a chunk claims FFFFFFFFFFFFFFFF bytes and more than 10 MiB follow
    host = urlsplit(cloud.api).netloc
    raw = head(POST_REGISTER + "Transfer-Encoding: chunked\n", host) + b"FFFFFFFFFFFFFFFF\r\n" + b"x" * (11 * 2**20)

    # Then API Gateway's 413 comes back once the limit is passed
    assert status_of(raw_exchange(cloud.api, raw)) == 413


def test_megabytes_of_headers_answer_431(cloud: RunningCloud) -> None:
    host = urlsplit(cloud.api).netloc
    raw = head(f"GET /health HTTP/1.1\nHost: {host}\nX-Filler: {'a' * 5_400_000}\n", host)
    assert status_of(raw_exchange(cloud.api, raw)) == 431


@pytest.mark.parametrize("method", ["TRACE", "TRACK", "CONNECT"])
def test_unrouted_methods_get_api_gateway_answers_without_a_server_banner(cloud: RunningCloud, method: str) -> None:
    # When a method API Gateway does not route is sent
    host = urlsplit(cloud.api).netloc
    answer = raw_exchange(cloud.api, head(f"{method} /health HTTP/1.1\nHost: {host}\nConnection: close\n", host))

    # Then the answer is API Gateway's JSON, not a BaseHTTP page
    response_head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 403
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert b"basehttp" not in response_head.lower()
    assert b"server:" not in response_head.lower()


def test_200_concurrent_registrations_are_all_answered_without_a_reset(cloud: RunningCloud) -> None:
    # Given 200 clients that connect at once, each with a registration the API refuses (no hashing)
    outcomes: list[int | str] = []
    lock = threading.Lock()
    start = threading.Barrier(CONCURRENT_CONNECTIONS)

    def client(number: int) -> None:
        start.wait()
        try:
            answer = requests.post(
                f"{cloud.api}/auth/register",
                json={"email": f"burst-{number}@example.com", "password": "short", "name": "B"},
                timeout=PATIENCE_S,
            )
            outcome: int | str = answer.status_code
        except requests.ConnectionError as error:
            outcome = f"connection error: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CONCURRENT_CONNECTIONS)]

    # When they register
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_S)

    # Then every one was answered by the function, none reset
    assert outcomes == [422] * CONCURRENT_CONNECTIONS


# The console


def console_answers(cloud: RunningCloud) -> dict[str, str]:
    """Every answer of the console's JSON API, by path: its lists and the detail of each thing listed."""
    answers: dict[str, str] = {}

    def get(path: str) -> Any:
        answer = requests.get(f"{cloud.api}{CONSOLE_API}{path}", timeout=30)
        assert answer.status_code == 200, (path, answer.text)
        answers[path] = answer.text
        return answer.json()

    for path in ("overview", "summary", "functions", "payments", "metrics"):
        get(path)
    for request in get("requests?limit=500")["requests"]:
        get(f"requests/{request['request_id']}")
    for queue in get("queues")["queues"]:
        if queue["is_dead_letter_queue"]:
            get(f"queues/{quote(queue['name'])}/messages")
    for mail in get("mail")["mail"]:
        get(f"mail/{quote(mail['id'])}")
    return answers


def test_no_console_answer_holds_the_password_or_the_token_of_a_login(cloud: RunningCloud) -> None:
    # Given a registration, a login and a call with the token it issued
    _, token = sign_up(cloud)
    assert requests.get(f"{cloud.api}/me", headers={"Authorization": f"Bearer {token}"}, timeout=60).status_code == 200

    # When every console answer is read
    answers = console_answers(cloud)

    # Then the requests are there, and neither the password nor the token (nor its signature) is
    assert any(path.startswith("requests/") for path in answers)
    signature = token.rsplit(".", 1)[1]
    for path, text in answers.items():
        assert PASSWORD not in text, path
        assert token not in text, path
        assert signature not in text, path


# The docs


def test_docs_are_served_by_the_stack_itself_under_a_same_origin_csp(cloud: RunningCloud) -> None:
    # When the docs page and the files it names are loaded
    page = requests.get(f"{cloud.api}/docs", timeout=30)
    files = {
        name: requests.get(f"{cloud.api}/docs/{name}", timeout=60)
        for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js")
    }

    # Then all come from the stack, and the page may load nothing from elsewhere
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "https:" not in policy and "cdn" not in policy
    assert "script-src 'self';" in policy
    assert "https://" not in page.text
    assert {name: answer.status_code for name, answer in files.items()} == dict.fromkeys(files, 200)
    assert "SwaggerUIBundle" in files["swagger-ui-bundle.js"].text
