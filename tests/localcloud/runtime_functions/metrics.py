"""A handler that publishes metrics in the CloudWatch Embedded Metric Format."""

import json
import time


def handler(event: dict[str, str], context: object) -> None:
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": event["namespace"],
                            "Dimensions": [["service"], ["service", "method"]],
                            "Metrics": [
                                {"Name": "OrdersCreated", "Unit": "Count"},
                                {"Name": "Latency", "Unit": "Milliseconds"},
                            ],
                        }
                    ],
                },
                "service": "orders",
                "method": "card",
                "OrdersCreated": 1,
                "Latency": [12.0, 30.0],
            }
        )
    )
