"""A small client of the Lambda API for the `localcloud` command, on the standard library only.

`localcloud invoke` against a running stack must answer in milliseconds, and importing boto3 alone takes
half a second. Requests are signed with Signature Version 4 like an SDK's, with the emulator's credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, urlsplit

_SERVICE: Final = "lambda"
_FUNCTIONS_PATH: Final = "/2015-03-31/functions"
# The emulator accepts any credentials; these are the ones its own clients use.
_ACCESS_KEY_ID: Final = "localcloud"
_SECRET_ACCESS_KEY: Final = "localcloud"


class LambdaApiUnavailableError(Exception):
    """Nothing at the endpoint answers the Lambda API (no emulator, or one that runs no stack)."""


class LambdaServiceError(Exception):
    """The Lambda API refused a call (not found, too large, throttled...); the message is one readable line."""


@dataclass(frozen=True)
class InvokeResult:
    """What Invoke answered: the payload as the function returned it, and the tail of its log."""

    payload: bytes
    function_error: str | None
    log_tail: str


def _sign(request: urllib.request.Request, body: bytes, region: str, now: datetime) -> None:
    parts = urlsplit(request.full_url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            request.get_method(),
            quote(parts.path or "/", safe="/~"),
            parts.query,
            *(f"{name}:{headers[name]}" for name in sorted(headers)),
            "",
            signed,
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{_SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{_SECRET_ACCESS_KEY}".encode()
    for part in (day, region, _SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    request.add_header("X-Amz-Date", amz_date)
    request.add_header("X-Amz-Content-Sha256", payload_hash)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={_ACCESS_KEY_ID}/{scope}, SignedHeaders={signed}, Signature={signature}",
    )


def _call(
    endpoint_url: str, region: str, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"{endpoint_url.rstrip('/')}{path}", data=body or None, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    _sign(request, body, region, datetime.now(UTC))
    try:
        # No timeout of its own: an invocation ends within its function's timeout.
        with urllib.request.urlopen(request) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise LambdaApiUnavailableError(f"nothing answers at {endpoint_url} ({error})") from error


def function_names(endpoint_url: str, region: str) -> list[str]:
    """The names of every function the Lambda API at the endpoint serves."""
    names: list[str] = []
    marker = ""
    while True:
        query = f"?Marker={quote(marker)}" if marker else ""
        status, _, body = _call(endpoint_url, region, "GET", f"{_FUNCTIONS_PATH}/{query}")
        if status != 200:
            raise LambdaApiUnavailableError(f"{endpoint_url} answered ListFunctions with HTTP {status}")
        page = json.loads(body)
        names += [function["FunctionName"] for function in page.get("Functions", [])]
        marker = page.get("NextMarker") or ""
        if not marker:
            return names


def invoke(endpoint_url: str, region: str, function_name: str, event: bytes) -> InvokeResult:
    """A RequestResponse invocation with the log tail."""
    status, headers, body = _call(
        endpoint_url,
        region,
        "POST",
        f"{_FUNCTIONS_PATH}/{quote(function_name, safe='')}/invocations",
        body=event,
        headers={
            "X-Amz-Invocation-Type": "RequestResponse",
            "X-Amz-Log-Type": "Tail",
            "Content-Type": "application/json",
        },
    )
    if status != 200:
        raise _service_error("Invoke", function_name, status, headers, body)
    log_tail = base64.b64decode(headers.get("x-amz-log-result", "")).decode(errors="replace")
    return InvokeResult(body, headers.get("x-amz-function-error"), log_tail)


def environment(endpoint_url: str, region: str, function_name: str) -> dict[str, str]:
    """The function's environment variables, from GetFunctionConfiguration."""
    path = f"{_FUNCTIONS_PATH}/{quote(function_name, safe='')}/configuration"
    status, headers, body = _call(endpoint_url, region, "GET", path)
    if status != 200:
        raise _service_error("GetFunctionConfiguration", function_name, status, headers, body)
    variables: dict[str, str] = json.loads(body).get("Environment", {}).get("Variables", {})
    return variables


def _service_error(
    operation: str, function_name: str, status: int, headers: dict[str, str], body: bytes
) -> LambdaServiceError:
    error_type = headers.get("x-amzn-errortype", f"HTTP {status}")
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        message = body.decode(errors="replace")
    return LambdaServiceError(f"{operation} of {function_name} answered {error_type}: {message}")
