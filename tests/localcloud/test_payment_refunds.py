"""The fake payment provider's refunds, driven by the stripe SDK as the payment worker drives Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import stripe

from localcloud.cli import main
from localcloud.payments import PaymentProvider

WAIT_TIMEOUT_S = 10.0


@pytest.fixture
def provider() -> Iterator[PaymentProvider]:
    started = PaymentProvider().start()
    yield started
    started.stop()


def client_of(provider: PaymentProvider) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_x",
        base_addresses={"api": provider.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=WAIT_TIMEOUT_S),
    )


@pytest.fixture
def client(provider: PaymentProvider) -> stripe.StripeClient:
    return client_of(provider)


def paid_intent(client: stripe.StripeClient, amount: int = 1000, payment_method: str = "pm_card_visa") -> str:
    try:
        intent = client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "eur",
                "payment_method": payment_method,
                "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )
    except stripe.CardError as declined:
        assert declined.error is not None and declined.error.payment_intent is not None
        return declined.error.payment_intent.id
    return intent.id


def test_a_partial_refund_succeeds_and_is_listed_under_its_payment_intent(client: stripe.StripeClient) -> None:
    intent_id = paid_intent(client)
    other_id = paid_intent(client)

    refund = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 400, "metadata": {"refund_id": "r-1"}}
    )
    client.v1.refunds.create(params={"payment_intent": other_id, "amount": 100})

    assert (refund.status, refund.amount, refund.currency, refund.payment_intent) == (
        "succeeded",
        400,
        "eur",
        intent_id,
    )
    assert refund.metadata is not None and refund.metadata.to_dict() == {"refund_id": "r-1"}
    listed = client.v1.refunds.list(params={"payment_intent": intent_id})
    assert [found.id for found in listed.data] == [refund.id]
    assert client.v1.refunds.retrieve(refund.id).amount == 400


def test_a_refund_above_the_remainder_is_refused_with_stripes_error(client: stripe.StripeClient) -> None:
    intent_id = paid_intent(client)
    client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 700})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 301})

    assert (refused.value.http_status, refused.value.code, refused.value.param) == (400, "amount_too_large", "amount")
    assert "greater than unrefunded amount on charge (300)" in str(refused.value.user_message)


def test_without_an_amount_the_remainder_is_refunded_and_then_the_charge_is_refunded_in_full(
    client: stripe.StripeClient,
) -> None:
    intent_id = paid_intent(client)
    client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 250})

    rest = client.v1.refunds.create(params={"payment_intent": intent_id})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 1})

    assert rest.amount == 750
    assert refused.value.code == "charge_already_refunded"


def test_a_refund_of_an_unpaid_intent_is_refused(client: stripe.StripeClient) -> None:
    declined_id = paid_intent(client, payment_method="pm_card_chargeDeclined")

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": declined_id, "amount": 100})

    assert refused.value.param == "payment_intent"
    assert "does not have a successful charge to refund" in str(refused.value.user_message)


def test_a_refund_of_an_unknown_intent_is_a_missing_resource(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": "pi_nothing", "amount": 100})

    assert (refused.value.code, refused.value.param) == ("resource_missing", "payment_intent")


def test_a_retried_refund_with_its_idempotency_key_refunds_once(client: stripe.StripeClient) -> None:
    intent_id = paid_intent(client)

    first = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 600}, options={"idempotency_key": "refund-1"}
    )
    again = client.v1.refunds.create(
        params={"payment_intent": intent_id, "amount": 600}, options={"idempotency_key": "refund-1"}
    )
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(
            params={"payment_intent": intent_id, "amount": 500}, options={"idempotency_key": "refund-1"}
        )

    assert again.id == first.id
    assert len(client.v1.refunds.list(params={"payment_intent": intent_id}).data) == 1


def test_concurrent_refunds_never_exceed_what_was_captured(
    client: stripe.StripeClient, provider: PaymentProvider
) -> None:
    # Given a payment of 1000, and 40 clients each refunding 100 of it at once
    intent_id = paid_intent(client)

    def refund(index: int) -> int:
        try:
            return client_of(provider).v1.refunds.create(params={"payment_intent": intent_id, "amount": 100}).amount
        except stripe.InvalidRequestError as refused:
            assert refused.code in {"amount_too_large", "charge_already_refunded"}
            return 0

    with ThreadPoolExecutor(max_workers=40) as pool:
        refunded = list(pool.map(refund, range(40)))

    # Then exactly the capture went back, in ten refunds
    assert sum(refunded) == 1000
    assert refunded.count(100) == 10


def test_refunds_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "payments.json"
    before = PaymentProvider(state_file=state_file).start()
    intent_id = paid_intent(client_of(before))
    client_of(before).v1.refunds.create(params={"payment_intent": intent_id, "amount": 900})
    before.stop()

    after = PaymentProvider(state_file=state_file).start()
    try:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client_of(after).v1.refunds.create(params={"payment_intent": intent_id, "amount": 101})
    finally:
        after.stop()

    assert refused.value.code == "amount_too_large"


def test_the_cli_lists_refunds_below_the_payment_intents(
    client: stripe.StripeClient, provider: PaymentProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    intent_id = paid_intent(client)
    refund = client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 300})

    assert main(["payments", "--payments-url", provider.url]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "AMOUNT", "CURRENCY", "METADATA"]
    assert lines[-1].split() == [refund.id, intent_id, "succeeded", "300", "eur"]
