"""Kills its own process when asked to (`?exit=1`); otherwise answers with its process id."""

import os
from typing import Any

from fixture_http import json_response, query_parameter  # type: ignore[import-not-found]  # the app's layer


def handler(event: dict[str, Any], context: object) -> object:
    if query_parameter(event, "exit", "0") == "1":
        os._exit(1)
    return json_response(200, {"pid": os.getpid()})
