"""Fixtures of the worker tests; modules load them with `pytest_plugins = ["tests.integration.worker_fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from localcloud.payments import PaymentProvider
from localcloud.spec import StackSpec
from tests.integration.worker_support import AwsCalls, Invoke, Shop, SqsEventSource


@pytest.fixture
def aws_call_log(monkeypatch: pytest.MonkeyPatch) -> AwsCalls:
    recorder = AwsCalls()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        recorder.intercept(self.meta.service_model.service_name, operation_name, api_params)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return recorder


@pytest.fixture
def payment_provider() -> Iterator[PaymentProvider]:
    with PaymentProvider(port=0) as provider:
        yield provider


@pytest.fixture
def shop(
    *,
    stack: StackSpec,
    function_env: dict[str, str],
    payment_provider: PaymentProvider,
    sqs: Any,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> Shop:
    overrides = {
        "PAYMENT_API_BASE_URL": payment_provider.url,
        # Short, so that a hung provider costs a test one second; still far above a local answer.
        "PAYMENT_API_TIMEOUT_SECONDS": "1",
    }
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    payments_event = stack.functions["PaymentWorkerFunction"].sqs_events[0]
    notifications_event = stack.functions["NotificationWorkerFunction"].sqs_events[0]
    return Shop(
        stack=stack,
        env={**function_env, **overrides},
        sqs=sqs,
        invoke=invoke,
        payments=SqsEventSource(
            sqs, function_env["PAYMENTS_QUEUE_URL"], payments_event.queue_arn, "payment_worker", invoke
        ),
        notifications=SqsEventSource(
            sqs, function_env["NOTIFICATIONS_QUEUE_URL"], notifications_event.queue_arn, "notification_worker", invoke
        ),
    )
