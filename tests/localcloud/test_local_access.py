"""Local servers answer local callers only: the requests of the hardening review, replayed against each server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe
from botocore.exceptions import ClientError

from localcloud.emulator import Emulator, emulator_session
from localcloud.gateway import ApiGateway
from localcloud.local_access import TOOL_HEADERS, allowed_hosts, cors_origins
from localcloud.payments import PaymentProvider
from tests.localcloud.in_process_invoker import InProcessInvoker
from tests.localcloud.spec_builders import REGION, api_stack, route

EVIL_ORIGIN = "https://evil.example"
CONFIGURED_ORIGIN = "http://localhost:5173"
# What the review sent: a well-formed header name with a value no SDK would produce.
MADE_UP_SIGV4 = "AWS4-HMAC-SHA256 Credential=anything"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(0, cors=cors_origins([CONFIGURED_ORIGIN], environ={})) as running:
        yield running


@pytest.fixture
def queue_url(emulator: Emulator) -> str:
    sqs = emulator_session(REGION).client("sqs", endpoint_url=emulator.url)
    url: str = sqs.create_queue(QueueName=f"access-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return url


@pytest.fixture
def provider() -> Iterator[PaymentProvider]:
    with PaymentProvider(port=0) as running:
        yield running


def set_header(request: Any, name: str, value: str) -> None:
    """A botocore before-send hook's edit of the signed request: what a browser or a rebinding page would change."""
    request.headers[name] = value


def test_host_allow_list_takes_loopback_names_and_addresses_and_the_hosts_allowed_on_purpose() -> None:
    # Given the allow-list of a stack bound for containers as well
    hosts = allowed_hosts(["host.docker.internal", "172.17.0.1"])

    # Then loopback names and addresses, with or without a port, pass, and so do the extra hosts
    for host in ["127.0.0.1:4566", "localhost", "LOCALHOST.", "bucket.localhost:4566", "127.0.0.2", "[::1]:3000"]:
        assert hosts.allows(host), host
    assert hosts.allows("host.docker.internal:4566")
    assert hosts.allows("172.17.0.1")
    # And other names, rebound or not, do not
    for refused in ["attacker.example", "localhost.attacker.example", "0.0.0.0", "", None, "[bad"]:
        assert not hosts.allows(refused), refused
    assert not allowed_hosts().allows("host.docker.internal")


def test_cors_origins_come_from_the_option_and_the_environment_variable() -> None:
    # When origins are configured both ways
    origins = cors_origins(["http://localhost:5173/"], environ={"LOCALCLOUD_CORS_ORIGINS": "https://app.test, "})

    # Then both are granted, and nothing else
    assert origins.allows("http://localhost:5173")
    assert origins.allows("https://app.test")
    assert not origins.allows(EVIL_ORIGIN)
    assert not origins.allows(None)


def test_emulator_refuses_a_cross_origin_preflight_from_an_origin_nobody_configured(emulator: Emulator) -> None:
    # When a page of another site asks to send SDK-shaped requests
    answer = requests.options(
        emulator.url,
        headers={
            "Origin": EVIL_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-target,content-type",
        },
        timeout=10,
    )

    # Then it is refused, with no CORS grant at all
    assert answer.status_code == 403
    assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_emulator_grants_cors_to_a_configured_origin_only_and_reflects_nothing_else(
    emulator: Emulator, queue_url: str
) -> None:
    # When the configured origin preflights, then sends a signed call
    preflight = requests.options(
        emulator.url,
        headers={
            "Origin": CONFIGURED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-target,content-type",
        },
        timeout=10,
    )
    sqs = emulator_session(REGION).client("sqs", endpoint_url=emulator.url)
    sqs.meta.events.register(
        "before-send", lambda request, **_: request.headers.__setitem__("Origin", CONFIGURED_ORIGIN)
    )
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])

    # Then both are granted to that origin only
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == CONFIGURED_ORIGIN
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization,x-amz-target,content-type"
    granted = attributes["ResponseMetadata"]["HTTPHeaders"]
    assert granted["access-control-allow-origin"] == CONFIGURED_ORIGIN


def test_emulator_dump_is_not_served_to_a_simple_cross_origin_get_nor_to_a_request_without_the_tool_header(
    emulator: Emulator,
) -> None:
    # When a page of another site, or any client without the tool header, asks for moto's dump
    cross_site = requests.get(f"{emulator.url}/moto-api/data.json", headers={"Origin": EVIL_ORIGIN}, timeout=10)
    bare = requests.get(f"{emulator.url}/moto-api/data.json", timeout=10)
    tool = requests.get(f"{emulator.url}/moto-api/data.json", headers=dict(TOOL_HEADERS), timeout=30)

    # Then only the tool gets it
    assert cross_site.status_code == 403
    assert "access-control-allow-origin" not in {name.lower() for name in cross_site.headers}
    assert bare.status_code == 403
    assert tool.status_code == 200
    assert "sqs" in tool.json()


def test_emulator_reset_by_a_text_plain_post_is_refused_and_wipes_nothing(emulator: Emulator, queue_url: str) -> None:
    # When a cross-site form-like request asks moto to reset
    answer = requests.post(
        f"{emulator.url}/moto-api/reset", data="x", headers={"Content-Type": "text/plain"}, timeout=10
    )
    with_header_only = requests.post(
        f"{emulator.url}/moto-api/reset",
        data="x",
        headers={"Content-Type": "text/plain", "X-Localcloud-Console": "1"},
        timeout=10,
    )

    # Then it is refused, and the queue is still there
    assert answer.status_code == 403
    assert with_header_only.status_code == 415
    sqs = emulator_session(REGION).client("sqs", endpoint_url=emulator.url)
    assert queue_url in sqs.list_queues().get("QueueUrls", [])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": MADE_UP_SIGV4},
        {"Authorization": "Bearer whatever"},
    ],
    ids=["unsigned", "made-up SigV4", "not SigV4"],
)
def test_emulator_refuses_aws_calls_without_a_signature_version_4_authorization(
    emulator: Emulator, headers: dict[str, str]
) -> None:
    # Given a secret
    secrets = emulator_session(REGION).client("secretsmanager", endpoint_url=emulator.url)
    name = f"signing-key-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString="the signing key")

    # When GetSecretValue is asked for without a well-formed signature
    answer = requests.post(
        emulator.url,
        data=json.dumps({"SecretId": name}),
        headers={"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
        | headers,
        timeout=10,
    )

    # Then it is refused, and the key is not in the answer
    assert answer.status_code == 403
    assert "the signing key" not in answer.text
    # While the SDK, which signs, still reads it
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "the signing key"


def test_emulator_refuses_a_rebound_host_name_even_for_a_signed_call(emulator: Emulator) -> None:
    # Given a signed call whose Host is another site's name (DNS rebinding)
    sqs = emulator_session(REGION).client("sqs", endpoint_url=emulator.url)
    sqs.meta.events.register("before-send", lambda request, **_: set_header(request, "Host", "evil.example"))

    # When it is sent, then it is refused
    with pytest.raises(ClientError, match="not a name of this local emulator"):
        sqs.list_queues()


def test_payment_provider_reset_by_a_text_plain_post_is_refused_and_keeps_the_intents(
    provider: PaymentProvider,
) -> None:
    # Given a stored payment
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": provider.url})
    client.v1.payment_intents.create(params={"amount": 100, "currency": "eur", "payment_method": "pm_card_visa"})

    # When a cross-site request posts /_reset as text/plain, with or without the Origin a browser adds
    plain = requests.post(f"{provider.url}/_reset", data="x", headers={"Content-Type": "text/plain"}, timeout=10)
    cross_site = requests.post(
        f"{provider.url}/_reset", data="x", headers={"Content-Type": "text/plain", "Origin": EVIL_ORIGIN}, timeout=10
    )

    # Then both are refused and the payment stays
    assert plain.status_code == 403
    assert cross_site.status_code == 403
    assert len(provider.intents()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {**TOOL_HEADERS, "Host": "evil.example"},
        {**TOOL_HEADERS, "Origin": EVIL_ORIGIN},
        {"Content-Type": "application/json"},
    ],
    ids=["rebound Host", "cross-site origin", "no tool header"],
)
def test_payment_provider_fault_control_needs_a_local_host_and_the_tool_header(
    provider: PaymentProvider, headers: dict[str, str]
) -> None:
    # When faults are set by a request that a page could send
    answer = requests.put(f"{provider.url}/_faults", json={"error_rate": 1.0}, headers=headers, timeout=10)

    # Then it is refused and nothing changed
    assert answer.status_code == 403
    assert provider.faults.error_rate == 0.0
    # While the tool request works
    allowed = requests.put(f"{provider.url}/_faults", json={"error_rate": 0.0}, headers=dict(TOOL_HEADERS), timeout=10)
    assert allowed.status_code == 200


def test_payment_api_takes_no_request_without_a_secret_key(provider: PaymentProvider) -> None:
    # When the Stripe API is called with no key
    answer = requests.get(f"{provider.url}/v1/payment_intents", timeout=10)

    # Then it is refused
    assert answer.status_code == 401


def gateway_with(**options: Any) -> ApiGateway:
    stack = api_stack({"Hello": (route("/hello"),)})
    gateway = ApiGateway(stack, InProcessInvoker({"Hello": lambda _: {"statusCode": 200, "body": "{}"}}), **options)
    gateway.start()
    return gateway


def test_gateway_answers_loopback_hosts_and_the_hosts_allowed_on_purpose_only() -> None:
    # Given a gateway bound for containers as well
    gateway = gateway_with(hosts=allowed_hosts(["host.docker.internal"]))
    port = gateway.url.rsplit(":", 1)[1]
    try:
        # When it is called by several names
        answers = {
            host: requests.get(f"{gateway.url}/hello", headers={"Host": host}, timeout=10)
            for host in [f"127.0.0.1:{port}", f"localhost:{port}", f"host.docker.internal:{port}", "evil.example"]
        }
    finally:
        gateway.stop()

    # Then only the rebound name is refused, in API Gateway's shape
    assert {host: answer.status_code for host, answer in answers.items()} == {
        f"127.0.0.1:{port}": 200,
        f"localhost:{port}": 200,
        f"host.docker.internal:{port}": 200,
        "evil.example": 403,
    }
    assert "message" in answers["evil.example"].json()
