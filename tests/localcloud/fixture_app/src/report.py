"""Logs two lines and one metric in the CloudWatch Embedded Metric Format, tagged with the caller's marker."""

import json
import time
from typing import Any

from fixture_http import json_response, query_parameter  # type: ignore[import-not-found]  # the app's layer

NAMESPACE = "FixtureApp"


def handler(event: dict[str, Any], context: object) -> object:
    marker = query_parameter(event, "marker", "none")
    print(f"report {marker} started")
    metric = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [["Marker"]], "Metrics": [{"Name": "Reports", "Unit": "Count"}]}
            ],
        },
        "Marker": marker,
        "Reports": 1,
    }
    print(json.dumps(metric))
    print(f"report {marker} done")
    return json_response(200, {"marker": marker})
