"""GET /orders/{id}: p50 through the local API Gateway versus the same handler called directly, warm.

Both sides read the same order from the same emulator, in the same run, so the ratio is what the
gateway, the authorizer cache and the worker process add. Run: `.venv/bin/python bench/gateway_overhead.py`.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid

from bench.common import Client, local_cloud, median, ms, percentile, record
from tests.support.events import FakeLambdaContext, api_event

ROUNDS = 300


def main() -> None:
    with local_cloud() as cloud:
        assert cloud.gateway is not None and cloud.runtime is not None
        client = Client(cloud.gateway.url)
        client.sign_up(f"{uuid.uuid4().hex[:10]}@example.com")
        status, order = client.call(
            "POST",
            "/orders",
            {
                "items": [{"sku": "A", "quantity": 1, "unit_price": 100}],
                "currency": "EUR",
                "payment_method": "pm_card_visa",
            },
        )
        assert status == 201, order
        path = f"/orders/{order['id']}"
        for _ in range(20):
            client.call("GET", path)
        through_gateway = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            status, _ = client.call("GET", path)
            through_gateway.append(time.perf_counter() - started)
            assert status == 200

        function = cloud.report.stack.functions["GetOrderFunction"] if cloud.report else None
        assert function is not None
        os.environ.update(function.environment)
        os.environ.update(
            AWS_ENDPOINT_URL=cloud.emulator.url,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
        )
        sys.path[:0] = [str(function.code_dir), *(str(layer) for layer in function.layer_dirs)]
        handler = importlib.import_module("get_order").handler
        user_id = client_user_id(client)
        event = api_event("get_order", user_id=user_id, path_parameters={"order_id": order["id"]})
        for _ in range(20):
            handler(event, FakeLambdaContext())
        direct = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            response = handler(event, FakeLambdaContext())
            direct.append(time.perf_counter() - started)
            assert response["statusCode"] == 200

    ratio = median(through_gateway) / median(direct)
    record(
        "Gateway overhead: GET /orders/{id}",
        [
            f"{ROUNDS} warm requests each, keep-alive HTTP client",
            f"through the local gateway: p50 {ms(median(through_gateway))}, p95 {ms(percentile(through_gateway, 0.95))}",
            f"handler called directly:  p50 {ms(median(direct))}, p95 {ms(percentile(direct, 0.95))}",
            f"ratio of p50s: {ratio:.2f} (target at most 1.3)",
        ],
    )


def client_user_id(client: Client) -> str:
    status, me = client.call("GET", "/me")
    assert status == 200
    user_id: str = me["id"]
    return user_id


if __name__ == "__main__":
    main()
