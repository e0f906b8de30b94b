"""How the whole-cloud tests reach the fixture app: its template, HTTP calls to its API, waiting for outcomes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURE_APP = Path(__file__).parent / "fixture_app"
FIXTURE_TEMPLATE = FIXTURE_APP / "template.yaml"
# An upper bound for waiting on what normally takes a second or two (a redrive takes a few visibility timeouts).
PATIENCE_S = 30.0


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any


def call_api(base_url: str, method: str, path: str, *, body: str | None = None, token: str | None = None) -> ApiAnswer:
    """One HTTP request to the local API; the body of the answer is decoded from JSON."""
    headers = {"Authorization": token} if token is not None else {}
    request = urllib.request.Request(
        f"{base_url}{path}", data=None if body is None else body.encode(), method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE_S) as response:
            return ApiAnswer(response.status, dict(response.headers), json.loads(response.read()))
    except urllib.error.HTTPError as error:
        with error:
            return ApiAnswer(error.code, dict(error.headers), json.loads(error.read()))


def wait_for[T](produce: Callable[[], T | None], what: str, timeout_s: float = PATIENCE_S) -> T:
    """The first value `produce` returns other than None, trying again until the deadline."""
    deadline = time.monotonic() + timeout_s
    while (value := produce()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.1)
    return value
