"""Sleeps as many seconds as asked, past the function's 1 s timeout if asked to."""

import time
from typing import Any

from fixture_http import json_response, query_parameter  # type: ignore[import-not-found]  # the app's layer


def handler(event: dict[str, Any], context: object) -> object:
    seconds = float(query_parameter(event, "seconds", "0"))
    time.sleep(seconds)
    return json_response(200, {"slept": seconds})
