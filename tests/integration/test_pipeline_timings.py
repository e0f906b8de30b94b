"""The timings the workers check at init are the ones the template gives the functions and the queues."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.provision import provision
from shop.entrypoints.settings import load_pipeline_settings
from tests.integration.conftest import REGION, TEMPLATE
from tests.reliability.timings import COMPRESSED_TIMINGS

WORKERS = ("PaymentWorkerFunction", "NotificationWorkerFunction")


@pytest.mark.parametrize("overrides", [{}, COMPRESSED_TIMINGS], ids=["production", "compressed"])
def test_worker_timeouts_and_queue_visibility_follow_the_parameters_and_pass_the_workers_checks(
    aws: None, sqs: Any, overrides: dict[str, str]
) -> None:
    # Given
    stack = provision(
        TEMPLATE, endpoint_url=None, region=REGION, stack_name="shop-timings", parameter_overrides=overrides
    )

    for logical_id in WORKERS:
        # When
        function = stack.functions[logical_id]
        settings = load_pipeline_settings(function.environment)
        [mapping] = function.sqs_events
        visibility = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["VisibilityTimeout"])

        # Then
        assert function.timeout_s == settings.worker_timeout_seconds == int(overrides.get("WorkerTimeout", "30"))
        assert int(visibility["Attributes"]["VisibilityTimeout"]) == settings.worker_queue_visibility_timeout_seconds
        assert settings.worker_queue_visibility_timeout_seconds == int(
            overrides.get("WorkerQueueVisibilityTimeout", "180")
        )
        assert settings.retry_base_seconds == int(overrides.get("RetryBaseSeconds", "15"))
        assert settings.email_claim_lease_seconds == int(overrides.get("EmailClaimLeaseSeconds", "300"))
