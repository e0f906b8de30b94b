"""The fake payment provider, driven by the stripe SDK as an application would drive Stripe."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import pytest
import stripe
from stripe.params import PaymentIntentCreateParams

from localcloud.local_access import TOOL_HEADERS
from localcloud.payments import FaultConfig, FaultConfigError, PaymentProvider, StateFileError
from localcloud.payments.errors import ApiError
from localcloud.payments.faults import Fault, FaultInjector
from localcloud.payments.formdata import decode_pairs

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_TIMEOUT_S = 10.0

ProviderFactory = Callable[..., PaymentProvider]
ClientFactory = Callable[..., stripe.StripeClient]


@pytest.fixture
def make_provider() -> Iterator[ProviderFactory]:
    started: list[PaymentProvider] = []

    def make(**kwargs: Any) -> PaymentProvider:
        provider = PaymentProvider(**kwargs).start()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()


@pytest.fixture
def provider(make_provider: ProviderFactory) -> PaymentProvider:
    return make_provider()


@pytest.fixture
def make_client() -> ClientFactory:
    def make(
        provider: PaymentProvider, *, api_key: str = "sk_test_x", timeout: float = WAIT_TIMEOUT_S
    ) -> stripe.StripeClient:
        # No SDK retries: each test sees exactly the response the provider gave.
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": provider.url},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    return make


@pytest.fixture
def client(make_client: ClientFactory, provider: PaymentProvider) -> stripe.StripeClient:
    return make_client(provider)


def payment(
    order_id: str = "order-1",
    *,
    amount: int = 1999,
    currency: str = "usd",
    payment_method: str = "pm_card_visa",
    confirm: bool = True,
    allow_redirects: Literal["always", "never"] = "never",
) -> PaymentIntentCreateParams:
    return {
        "amount": amount,
        "currency": currency,
        "payment_method": payment_method,
        "confirm": confirm,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": allow_redirects},
        "metadata": {"order_id": order_id},
        "description": f"Order {order_id}",
    }


def http_call(
    provider: PaymentProvider, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(provider.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=WAIT_TIMEOUT_S) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_confirmed_card_payment_succeeds_and_is_stored(client: stripe.StripeClient, provider: PaymentProvider) -> None:
    # Given a confirmed payment with a succeeding test card
    # When it is created
    intent = client.v1.payment_intents.create(params=payment("order-7", amount=2500))

    # Then it succeeded with a charge, shaped like Stripe's PaymentIntent
    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
    assert intent.status == "succeeded"
    assert (intent.amount, intent.amount_received, intent.currency) == (2500, 2500, "usd")
    assert intent.latest_charge is not None
    assert str(intent.latest_charge).startswith("ch_")
    assert intent.payment_method == "pm_card_visa"
    assert intent.metadata["order_id"] == "order-7"
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.livemode is False
    assert [stored["id"] for stored in provider.intents()] == [intent.id]


@pytest.mark.parametrize(
    ("payment_method", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "Your card has insufficient funds."),
    ],
    ids=["generic", "insufficient-funds"],
)
def test_declined_card_raises_card_error_and_the_intent_is_still_stored(
    client: stripe.StripeClient, provider: PaymentProvider, payment_method: str, decline_code: str, message: str
) -> None:
    # Given a payment with a test card that the issuer declines
    params = payment("order-declined", payment_method=payment_method)

    # When it is created
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(params=params)

    # Then the SDK raises CardError with Stripe's codes, and the intent asks for another payment method
    error = raised.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error is not None
    assert error.error.decline_code == decline_code
    assert error.user_message == message
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.status == "requires_payment_method"
    [stored] = provider.intents()
    assert stored["id"] == error.error.payment_intent.id
    assert stored["status"] == "requires_payment_method"
    assert stored["metadata"] == {"order_id": "order-declined"}


def test_unknown_payment_method_is_a_missing_resource(client: stripe.StripeClient, provider: PaymentProvider) -> None:
    # Given a payment method id that does not exist
    params = payment(payment_method="pm_nope")

    # When a payment is created with it
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    # Then it is refused as Stripe refuses it, and nothing is stored
    assert raised.value.http_status == 400
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "payment_method"
    assert raised.value.user_message == "No such PaymentMethod: 'pm_nope'"
    assert provider.intents() == []


@pytest.mark.parametrize(
    ("override", "param"),
    [({"amount": 0}, "amount"), ({"amount": -100}, "amount"), ({"currency": "zzz"}, "currency")],
)
def test_invalid_amount_or_currency_is_an_invalid_request(
    client: stripe.StripeClient, override: dict[str, Any], param: str
) -> None:
    # Given a payment with an invalid amount or currency
    params = payment(**override)

    # When it is created
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    # Then the offending parameter is named
    assert raised.value.http_status == 400
    assert raised.value.param == param


def test_non_integer_amount_is_refused_with_stripe_error_shape(provider: PaymentProvider) -> None:
    # Given a form body whose amount is not an integer
    body = b"amount=12.5&currency=usd"

    # When it is posted
    status, _, answer = http_call(provider, "POST", "/v1/payment_intents", body, {"Authorization": "Bearer sk_test_x"})

    # Then the answer is Stripe's invalid_request_error
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == "amount"
    assert answer["error"]["message"] == "Invalid integer: 12.5"


def test_unconfirmed_intent_requires_confirmation(client: stripe.StripeClient) -> None:
    # Given a payment with a payment method but without confirm
    params = payment(confirm=False)

    # When it is created
    intent = client.v1.payment_intents.create(params=params)

    # Then nothing is charged yet
    assert intent.status == "requires_confirmation"
    assert intent.amount_received == 0
    assert intent.latest_charge is None


def test_confirming_with_redirect_methods_requires_a_return_url(client: stripe.StripeClient) -> None:
    # Given automatic payment methods that allow redirects, and no return_url
    params = payment(allow_redirects="always")

    # When the payment is confirmed at creation
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    # Then Stripe's demand for a return_url is reproduced
    assert "return_url" in str(raised.value.user_message)


def test_retry_with_the_same_idempotency_key_replays_the_first_response(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given a payment created with an idempotency key
    first = client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "order-1-charge"})

    # When the same request is sent again with the same key
    replay = client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "order-1-charge"})

    # Then the first intent comes back, marked as replayed, and only one exists
    assert replay.id == first.id
    assert replay.last_response is not None
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(provider.intents()) == 1


def test_declined_payment_is_replayed_for_its_idempotency_key(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given a declined payment sent with an idempotency key
    params = payment(payment_method="pm_card_chargeDeclined")
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "k"})

    # When it is retried with the same key
    with pytest.raises(stripe.CardError) as replay:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "k"})

    # Then the same decline is replayed and the card is not charged again
    assert replay.value.http_body == first.value.http_body
    assert len(provider.intents()) == 1


def test_reusing_an_idempotency_key_with_other_parameters_is_an_idempotency_error(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given a key already used for one payment
    client.v1.payment_intents.create(params=payment(amount=1000), options={"idempotency_key": "reused"})

    # When it is used for a payment with another amount
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.payment_intents.create(params=payment(amount=2000), options={"idempotency_key": "reused"})

    # Then Stripe's idempotency error is raised and no second intent exists
    assert raised.value.http_status == 400
    assert "'reused'" in str(raised.value.user_message)
    assert len(provider.intents()) == 1


def test_concurrent_requests_with_one_idempotency_key_create_one_intent(
    make_client: ClientFactory, provider: PaymentProvider
) -> None:
    # Given several clients sending the same payment with the same key at once
    def create(_: int) -> str:
        client = make_client(provider)
        return client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "race"}).id

    # When they all complete
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(create, range(6)))

    # Then they all got the one intent that was created
    assert len(ids) == 1
    assert [intent["id"] for intent in provider.intents()] == list(ids)


def test_request_without_api_key_is_unauthorized_with_stripe_error_shape(provider: PaymentProvider) -> None:
    # Given a request without an Authorization header
    # When it is sent
    status, _, answer = http_call(provider, "GET", "/v1/payment_intents")

    # Then it is refused with Stripe's error shape
    assert status == 401
    assert answer["error"]["type"] == "invalid_request_error"
    assert "API key" in answer["error"]["message"]


def test_wrong_api_key_raises_authentication_error(make_provider: ProviderFactory, make_client: ClientFactory) -> None:
    # Given a provider that accepts one key only
    provider = make_provider(api_key="sk_test_right")

    # When a client uses another key
    with pytest.raises(stripe.AuthenticationError) as raised:
        make_client(provider, api_key="sk_test_wrong").v1.payment_intents.create(params=payment())

    # Then it is refused, and the right key is accepted
    assert raised.value.http_status == 401
    assert make_client(provider, api_key="sk_test_right").v1.payment_intents.create(params=payment()).id


def test_injected_server_error_raises_api_error_and_stores_nothing(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given every request fails with a server error
    provider.set_faults(FaultConfig(error_rate=1.0))

    # When a payment is created
    with pytest.raises(stripe.APIError) as raised:
        client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "k"})

    # Then the SDK raises APIError and nothing was executed
    assert raised.value.http_status == 500
    assert provider.intents() == []
    assert provider.injected_faults()["server_error"] == 1


def test_retry_after_an_injected_fault_executes_with_the_same_key(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given a payment that failed with an injected server error
    provider.set_faults(FaultConfig(error_rate=1.0))
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "retry-me"})

    # When the provider recovers and the payment is retried with the same key
    provider.set_faults(FaultConfig())
    intent = client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "retry-me"})

    # Then the retry executes, once
    assert intent.status == "succeeded"
    assert intent.last_response is not None
    assert "Idempotent-Replayed" not in intent.last_response.headers
    assert len(provider.intents()) == 1


def test_injected_rate_limit_raises_rate_limit_error(client: stripe.StripeClient, provider: PaymentProvider) -> None:
    # Given every request is rate limited
    provider.set_faults(FaultConfig(rate_limit_rate=1.0))

    # When a payment is created
    with pytest.raises(stripe.RateLimitError) as raised:
        client.v1.payment_intents.create(params=payment())

    # Then the SDK raises RateLimitError from a 429
    assert raised.value.http_status == 429
    assert provider.intents() == []


def test_hung_response_times_the_client_out(make_client: ClientFactory, provider: PaymentProvider) -> None:
    # Given every request hangs far longer than the client waits
    provider.set_faults(FaultConfig(hang_rate=1.0, hang_seconds=WAIT_TIMEOUT_S))
    impatient_client = make_client(provider, timeout=0.3)

    # When a payment is created
    with pytest.raises(stripe.APIConnectionError):
        impatient_client.v1.payment_intents.create(params=payment())

    # Then the client gave up on a hang, and nothing was executed
    assert provider.injected_faults()["hang"] == 1
    assert provider.intents() == []


def test_hung_response_does_not_block_other_requests(make_client: ClientFactory, provider: PaymentProvider) -> None:
    # Given a request hanging in the provider
    provider.set_faults(FaultConfig(hang_rate=1.0, hang_seconds=WAIT_TIMEOUT_S * 3))
    hung_outcome: list[BaseException] = []

    def create_hanging() -> None:
        with pytest.raises(stripe.StripeError) as raised:
            make_client(provider, timeout=WAIT_TIMEOUT_S * 3).v1.payment_intents.create(params=payment("hung"))
        hung_outcome.append(raised.value)

    hanging = threading.Thread(target=create_hanging)
    hanging.start()
    wait_until(lambda: provider.injected_faults()["hang"] == 1)

    # When another request arrives while it hangs
    provider.set_faults(FaultConfig())
    intent = make_client(provider).v1.payment_intents.create(params=payment("other"))

    # Then the other request is answered while the first still hangs, and stopping ends the hang
    assert intent.status == "succeeded"
    assert hanging.is_alive()
    provider.stop()
    hanging.join(WAIT_TIMEOUT_S)
    assert not hanging.is_alive()
    assert len(hung_outcome) == 1


def test_retrieve_returns_the_stored_intent_and_unknown_ids_are_missing(client: stripe.StripeClient) -> None:
    # Given a stored intent
    created = client.v1.payment_intents.create(params=payment())

    # When it is retrieved, and so is an unknown id
    retrieved = client.v1.payment_intents.retrieve(created.id)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_unknown")

    # Then the first is found and the second is a 404 resource_missing
    assert retrieved.id == created.id
    assert retrieved.status == "succeeded"
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_list_pages_through_intents_newest_first(client: stripe.StripeClient) -> None:
    # Given five intents created one after another
    created = [client.v1.payment_intents.create(params=payment(f"order-{n}")).id for n in range(5)]
    newest_first = list(reversed(created))

    # When they are listed two at a time
    first_page = client.v1.payment_intents.list(params={"limit": 2})
    second_page = client.v1.payment_intents.list(params={"limit": 2, "starting_after": first_page.data[-1].id})
    last_page = client.v1.payment_intents.list(params={"limit": 2, "starting_after": second_page.data[-1].id})
    before_last = client.v1.payment_intents.list(params={"limit": 2, "ending_before": last_page.data[0].id})

    # Then the pages follow each other, newest first, and auto-paging yields every intent once
    assert first_page["object"] == "list"
    assert first_page.url == "/v1/payment_intents"
    assert [intent.id for intent in first_page.data] == newest_first[:2]
    assert [intent.id for intent in second_page.data] == newest_first[2:4]
    assert [intent.id for intent in last_page.data] == newest_first[4:]
    assert (first_page.has_more, second_page.has_more, last_page.has_more) == (True, True, False)
    assert [intent.id for intent in before_last.data] == newest_first[2:4]
    assert [intent.id for intent in first_page.auto_paging_iter()] == newest_first


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten", "starting_after=pi_unknown", "colour=blue"])
def test_list_rejects_invalid_paging(provider: PaymentProvider, query: str) -> None:
    # Given an invalid list query
    # When it is sent
    status, _, answer = http_call(
        provider, "GET", f"/v1/payment_intents?{query}", headers={"Authorization": "Bearer sk_test_x"}
    )

    # Then it is an invalid request naming the parameter
    assert status == 400
    assert answer["error"]["param"] == query.partition("=")[0]


def test_intents_and_idempotency_keys_survive_a_restart(
    make_provider: ProviderFactory, make_client: ClientFactory, tmp_path: Path
) -> None:
    # Given a provider with a state file that stored a payment
    state_file = tmp_path / "payments.json"
    before = make_provider(state_file=state_file)
    created = make_client(before).v1.payment_intents.create(params=payment(), options={"idempotency_key": "k"})
    before.stop()

    # When a new provider starts from the same state file
    after = make_provider(state_file=state_file)
    client = make_client(after)

    # Then the intent is there, and a retry with the old key replays instead of charging again
    assert client.v1.payment_intents.retrieve(created.id).status == "succeeded"
    assert client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "k"}).id == created.id
    assert len(after.intents()) == 1


def test_corrupt_state_file_is_an_error_and_is_left_untouched(tmp_path: Path) -> None:
    # Given a state file that is not payment state
    state_file = tmp_path / "payments.json"
    state_file.write_text('{"intents": [', encoding="utf-8")

    # When a provider is created from it
    with pytest.raises(StateFileError, match="corrupt"):
        PaymentProvider(state_file=state_file)

    # Then the file is kept as it was
    assert state_file.read_text(encoding="utf-8") == '{"intents": ['


def test_reset_forgets_intents_and_idempotency_keys(client: stripe.StripeClient, provider: PaymentProvider) -> None:
    # Given a stored payment made with a key
    first = client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "k"})

    # When the provider is reset over HTTP
    status, _, _ = http_call(provider, "POST", "/_reset", headers=dict(TOOL_HEADERS))

    # Then the intent is gone and the key executes anew
    assert status == 200
    assert provider.intents() == []
    again = client.v1.payment_intents.create(params=payment(), options={"idempotency_key": "k"})
    assert again.id != first.id


def test_faults_set_over_http_take_effect(client: stripe.StripeClient, provider: PaymentProvider) -> None:
    # Given faults configured over HTTP
    config = {"error_rate": 1.0, "rate_limit_rate": 0.0, "hang_rate": 0.0, "hang_seconds": 1.0, "latency_ms": 0.0}
    status, _, answer = http_call(provider, "PUT", "/_faults", json.dumps(config).encode(), dict(TOOL_HEADERS))

    # When a payment is created
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create(params=payment())

    # Then the configuration was accepted, is reported back, and applied
    assert (status, answer) == (200, config)
    assert http_call(provider, "GET", "/_faults", headers=dict(TOOL_HEADERS))[2] == config
    assert provider.faults == FaultConfig(error_rate=1.0, hang_seconds=1.0)


@pytest.mark.parametrize(
    "body",
    [
        b'{"error_rate": 1.5}',
        b'{"error_rate": 0.6, "hang_rate": 0.6}',
        b'{"hang_seconds": -1}',
        b'{"latency_ms": "fast"}',
        b'{"error_rate": true}',
        b'{"eror_rate": 0.1}',
        b"[0.1]",
        b"not json",
    ],
    ids=[
        "rate-above-1",
        "rates-sum-above-1",
        "negative-hang",
        "string",
        "boolean",
        "unknown-field",
        "array",
        "not-json",
    ],
)
def test_bad_fault_configuration_is_rejected_and_the_old_one_kept(provider: PaymentProvider, body: bytes) -> None:
    # Given a provider with some faults configured
    provider.set_faults(FaultConfig(latency_ms=1.0))

    # When an invalid configuration is sent
    status, _, answer = http_call(provider, "PUT", "/_faults", body, dict(TOOL_HEADERS))

    # Then it is refused with a message, and the old configuration stays
    assert status == 400
    assert answer["error"]["message"].startswith("invalid fault configuration")
    assert provider.faults == FaultConfig(latency_ms=1.0)


@pytest.mark.parametrize(
    "settings",
    [{"error_rate": -0.1}, {"rate_limit_rate": float("nan")}, {"hang_seconds": float("inf")}, {"latency_ms": -5}],
)
def test_fault_config_rejects_out_of_range_values(settings: dict[str, float]) -> None:
    # Given an out-of-range setting
    # When a configuration is built with it
    # Then it is refused
    with pytest.raises(FaultConfigError, match=next(iter(settings))):
        FaultConfig(**settings)


def test_the_same_seed_injects_the_same_faults() -> None:
    # Given two injectors with the same seed and a mix of fault rates
    config = FaultConfig(error_rate=0.3, rate_limit_rate=0.3)
    first, second = FaultInjector(config, seed=42), FaultInjector(config, seed=42)

    # When each draws a sequence of faults
    first_draws = [first.next_fault()[0] for _ in range(50)]
    second_draws = [second.next_fault()[0] for _ in range(50)]

    # Then the sequences match and contain every configured outcome
    assert first_draws == second_draws
    assert {Fault.SERVER_ERROR, Fault.RATE_LIMIT, None} == set(first_draws)


def test_form_brackets_nest_into_objects() -> None:
    # Given form pairs as the stripe SDK encodes them
    pairs = [
        ("amount", "100"),
        ("metadata[order_id]", "o-1"),
        ("automatic_payment_methods[enabled]", "true"),
        ("payment_method_types[0]", "card"),
    ]

    # When they are decoded
    params = decode_pairs(pairs)

    # Then brackets become nested objects
    assert params == {
        "amount": "100",
        "metadata": {"order_id": "o-1"},
        "automatic_payment_methods": {"enabled": "true"},
        "payment_method_types": {"0": "card"},
    }


def test_form_key_used_as_value_and_object_is_refused() -> None:
    # Given a key sent both as a plain value and as an object
    pairs = [("metadata", "x"), ("metadata[order_id]", "o-1")]

    # When the pairs are decoded
    with pytest.raises(ApiError) as raised:
        decode_pairs(pairs)

    # Then it is an invalid request naming the key
    assert raised.value.status == 400
    assert raised.value.error["param"] == "metadata[order_id]"


def test_cli_bad_argument_prints_one_line_and_fails() -> None:
    # Given a port that is not a number
    # When the provider is started from the command line
    result = subprocess.run(
        [sys.executable, "-m", "localcloud.payments", "--port", "notanumber"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_TIMEOUT_S * 3,
        check=False,
    )

    # Then it exits non-zero with one readable line
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "notanumber" in result.stderr


def test_cli_serves_until_interrupted() -> None:
    # Given the provider started from the command line on a free port
    command = [sys.executable, "-m", "localcloud.payments", "--port", "0", "--api-key", "sk_test_cli"]
    with subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            client = stripe.StripeClient(
                "sk_test_cli",
                base_addresses={"api": url},
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=WAIT_TIMEOUT_S),
            )

            # When it serves a payment and is then interrupted
            intent = client.v1.payment_intents.create(params=payment())
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=WAIT_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()

    # Then the payment succeeded and the process stopped cleanly
    assert url.startswith("http://127.0.0.1:")
    assert intent.status == "succeeded"
    assert returncode == 0
