"""The pipeline's timings: production defaults, overridable, and refused at init when they do not fit together."""

from __future__ import annotations

import pytest

from shop.entrypoints.settings import ConfigurationError, load_pipeline_settings
from shop.entrypoints.worker_composition import NotificationWorker, payment_worker

REQUIRED = {
    "TABLE_NAME": "shop-table",
    "PAYMENTS_QUEUE_URL": "http://localhost/queue/payments",
    "NOTIFICATIONS_QUEUE_URL": "http://localhost/queue/notifications",
    "SIGNING_KEY_SECRET_ID": "signing-key",
    "JWT_ISSUER": "shop-api",
    "JWT_AUDIENCE": "shop-api-clients",
    "PAYMENTS_DLQ_URL": "http://localhost/queue/payments-dlq",
    "NOTIFICATIONS_DLQ_URL": "http://localhost/queue/notifications-dlq",
    "PAYMENT_API_KEY_SECRET_ID": "payment-key",
    "SENDER_EMAIL": "orders@example.com",
    "ORDER_EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:order-events",
}


def test_without_overrides_the_timings_are_productions() -> None:
    settings = load_pipeline_settings(REQUIRED)

    assert (settings.retry_base_seconds, settings.retry_max_seconds) == (15, 1800)
    assert (settings.worker_timeout_seconds, settings.worker_queue_visibility_timeout_seconds) == (30, 180)
    assert settings.email_claim_lease_seconds == 300
    assert settings.payment_api_timeout_seconds == 5.0


def test_compressed_timings_that_fit_together_are_accepted() -> None:
    settings = load_pipeline_settings(
        {
            **REQUIRED,
            "RETRY_BASE_SECONDS": "1",
            "RETRY_MAX_SECONDS": "16",
            "WORKER_TIMEOUT_SECONDS": "12",
            "WORKER_QUEUE_VISIBILITY_TIMEOUT_SECONDS": "14",
            "EMAIL_CLAIM_LEASE_SECONDS": "24",
            "PAYMENT_API_TIMEOUT_SECONDS": "0.5",
        }
    )

    assert (settings.retry_base_seconds, settings.retry_max_seconds, settings.email_claim_lease_seconds) == (1, 16, 24)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"RETRY_BASE_SECONDS": "20", "RETRY_MAX_SECONDS": "10"}, "RETRY_MAX_SECONDS must not be below"),
        ({"WORKER_TIMEOUT_SECONDS": "30", "WORKER_QUEUE_VISIBILITY_TIMEOUT_SECONDS": "30"}, "WORKER_TIMEOUT_SECONDS"),
        ({"WORKER_TIMEOUT_SECONDS": "30", "EMAIL_CLAIM_LEASE_SECONDS": "30"}, "EMAIL_CLAIM_LEASE_SECONDS must be"),
        ({"RETRY_BASE_SECONDS": "0"}, "RETRY_BASE_SECONDS"),
    ],
)
def test_timings_that_do_not_fit_together_stop_the_function_at_init_with_the_variables_named(
    overrides: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_pipeline_settings({**REQUIRED, **overrides})


def test_a_worker_whose_timeout_leaves_no_time_to_start_a_job_is_refused_at_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a 10 s worker timeout: a charge with a 7 s read timeout needs 11 s, an email 9 s
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = load_pipeline_settings({**REQUIRED, "WORKER_TIMEOUT_SECONDS": "10", "PAYMENT_API_TIMEOUT_SECONDS": "7"})

    # When the workers are composed, then the payment worker is refused and the notification worker is not
    with pytest.raises(ConfigurationError, match="WORKER_TIMEOUT_SECONDS"):
        payment_worker(settings)
    NotificationWorker(settings)
