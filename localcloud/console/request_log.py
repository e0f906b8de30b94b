"""What the console remembers of API traffic: the latest exchanges and the invocations that served them.

Everything is kept redacted by the rule the functions' logs follow (`secret_redaction`): the
console shows requests to anyone at the machine, and passwords and tokens must not be among them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlencode

from localcloud.gateway import GatewayExchange
from localcloud.spec import Invocation, Invoker
from secret_redaction import redact, redact_pairs

DEFAULT_CAPACITY = 500
# Bodies are kept up to this many bytes (request body in the event, response body, function result body).
DEFAULT_BODY_CAP_BYTES = 32 * 1024
_FORM = "application/x-www-form-urlencoded"
# A UTF-8 character is at most 4 bytes: a decoding error this close to a cut is the cut itself.
_MAX_CUT_CHARACTER_BYTES = 3


@dataclass(frozen=True)
class CappedText:
    """A body kept for display: its text up to the cap, or None when it is binary."""

    text: str | None
    size_bytes: int
    truncated: bool

    @property
    def binary(self) -> bool:
        return self.text is None


@dataclass(frozen=True)
class ExchangeDetails:
    """What the console shows of one exchange beyond its summary: redacted, bodies capped."""

    # The proxy event; None when no function was reached.
    event: Mapping[str, Any] | None
    event_body: CappedText | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: CappedText
    # What the function returned; kept to explain a malformed proxy response.
    function_payload: object


@dataclass(frozen=True)
class RecordedRequest:
    """One API request the gateway answered, as the console shows it."""

    sequence: int
    # When the answer was sent, in seconds since the epoch.
    answered_at: float
    method: str
    path: str
    status: int
    duration_ms: float
    request_id: str
    function_logical_id: str | None
    # Small exchanges are redacted when first shown, off the request path (most are never opened);
    # those with a body past the cap are redacted before the cut, which could split a secret.
    _source: GatewayExchange | ExchangeDetails
    _body_cap_bytes: int

    @cached_property
    def details(self) -> ExchangeDetails:
        if isinstance(self._source, ExchangeDetails):
            return self._source
        return exchange_details(self._source, self._body_cap_bytes)


@dataclass(frozen=True)
class LinkedInvocation:
    """One invocation made on behalf of an API request: the authorizer's or the integration's."""

    function_logical_id: str
    # Lambda's request id, which the function's log lines carry.
    request_id: str
    duration_ms: float
    cold_start: bool
    error: str | None


def capped_text(body: bytes, cap_bytes: int) -> CappedText:
    """The UTF-8 text of at most cap_bytes of body; binary when it is not UTF-8."""
    head = body[:cap_bytes]
    truncated = len(body) > cap_bytes
    try:
        text = head.decode()
    except UnicodeDecodeError as error:
        if not (truncated and error.start >= len(head) - _MAX_CUT_CHARACTER_BYTES):
            return CappedText(None, len(body), truncated)
        text = head[: error.start].decode()
    return CappedText(text, len(body), truncated)


def _with_capped_body(document: Mapping[str, Any], cap_bytes: int) -> tuple[Mapping[str, Any], CappedText | None]:
    """A redacted copy of an event or a proxy response, its `body` string cut to the cap, and how it was cut."""
    redacted: dict[str, Any] = redact({key: value for key, value in document.items() if key != "body"})
    body = document.get("body")
    if not isinstance(body, str):
        return {**redacted, "body": redact(body)}, None
    if document.get("isBase64Encoded") is True:
        body = redact(body)
    else:
        body = redacted_body(body, _content_type(document.get("headers")))
    capped = capped_text(body.encode(), cap_bytes)
    return {**redacted, "body": capped.text or ""}, capped


def redacted_body(body: str, content_type: str | None) -> str:
    """A body with the shared rule applied to its fields when it is JSON or a form, else to its text."""
    if (content_type or "").split(";")[0].strip().lower() == _FORM:
        fields = parse_qsl(body, keep_blank_values=True)
        redacted_fields = redact_pairs(fields)
        return body if redacted_fields == fields else urlencode(redacted_fields)
    try:
        document = json.loads(body)
    except ValueError:
        text: str = redact(body)
        return text
    redacted = redact(document)
    # Shown as sent unless something had to go.
    return body if redacted == document else json.dumps(redacted)


def _content_type(headers: object) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    return next((str(value) for name, value in headers.items() if str(name).lower() == "content-type"), None)


def _redacted_bytes(body: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return body
    return redacted_body(text, _content_type(dict(headers))).encode()


def exchange_details(exchange: GatewayExchange, cap_bytes: int) -> ExchangeDetails:
    """The exchange redacted by the shared rule, then its bodies capped."""
    event, event_body = (None, None) if exchange.event is None else _with_capped_body(exchange.event, cap_bytes)
    payload = exchange.function_payload
    if isinstance(payload, Mapping):
        payload, _ = _with_capped_body(payload, cap_bytes)
    elif isinstance(payload, bytes):
        payload = capped_text(_redacted_bytes(payload, ()), cap_bytes).text
    else:
        payload = redact(payload)
    return ExchangeDetails(
        event=event,
        event_body=event_body,
        response_headers=tuple(redact_pairs(exchange.response.headers)),
        response_body=capped_text(_redacted_bytes(exchange.response.body, exchange.response.headers), cap_bytes),
        function_payload=payload,
    )


def _largest_body(exchange: GatewayExchange) -> int:
    """An upper bound, in bytes, of the largest body of the exchange."""
    bodies: list[object] = [exchange.response.body]
    for document in (exchange.event, exchange.function_payload):
        bodies.append(document.get("body") if isinstance(document, Mapping) else document)
    return max(_size_bound(body) for body in bodies)


def _size_bound(body: object) -> int:
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, str):
        # UTF-8 takes at most 4 bytes a character: a bound without encoding the text.
        return 4 * len(body)
    return 0


class RequestLog:
    """The latest API exchanges, newest last, bounded in count and in body sizes; thread-safe."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        body_cap_bytes: int = DEFAULT_BODY_CAP_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"the request log needs a capacity of at least 1, not {capacity}")
        self._body_cap_bytes = body_cap_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: deque[RecordedRequest] = deque(maxlen=capacity)
        self._sequence = 0

    @property
    def latest_sequence(self) -> int:
        """The sequence number of the newest request recorded; 0 before the first."""
        with self._lock:
            return self._sequence

    def record(self, exchange: GatewayExchange) -> RecordedRequest:
        """Keep one exchange; the oldest is forgotten once the log is full."""
        cap = self._body_cap_bytes
        source = exchange if _largest_body(exchange) <= cap else exchange_details(exchange, cap)
        with self._lock:
            self._sequence += 1
            recorded = RecordedRequest(
                sequence=self._sequence,
                answered_at=self._clock(),
                method=exchange.method,
                path=exchange.path,
                status=exchange.status,
                duration_ms=exchange.duration_ms,
                request_id=exchange.request_id,
                function_logical_id=exchange.function_logical_id,
                _source=source,
                _body_cap_bytes=cap,
            )
            self._requests.append(recorded)
        return recorded

    def latest(self, *, after: int = 0, limit: int = DEFAULT_CAPACITY) -> list[RecordedRequest]:
        """Up to `limit` requests newer than sequence `after`, newest first."""
        with self._lock:
            newer = [request for request in self._requests if request.sequence > after]
        return newer[::-1][:limit]

    def find(self, request_id: str) -> RecordedRequest | None:
        """The request with this API Gateway request id, if the log still holds it."""
        with self._lock:
            return next((request for request in self._requests if request.request_id == request_id), None)


class InvocationLinks:
    """An `Invoker` for the gateway that remembers which invocations served which API request; thread-safe.

    The integration's event carries the API request id. A TOKEN authorizer's event does not, but
    the gateway invokes the authorizer on the thread that then reports the exchange, so its
    invocation waits on that thread until `claim` names its request.
    """

    def __init__(self, invoker: Invoker, capacity: int = 4 * DEFAULT_CAPACITY) -> None:
        self._invoker = invoker
        self._capacity = capacity
        self._lock = threading.Lock()
        self._links: OrderedDict[str, list[LinkedInvocation]] = OrderedDict()
        self._unclaimed = threading.local()

    def invoke(self, function_logical_id: str, event: object) -> Invocation:
        """Invoke through the wrapped invoker and remember the outcome."""
        invocation = self._invoker.invoke(function_logical_id, event)
        link = LinkedInvocation(
            function_logical_id=function_logical_id,
            request_id=invocation.request_id,
            duration_ms=invocation.duration_ms,
            cold_start=invocation.init_duration_ms is not None,
            error=_error_summary(invocation),
        )
        api_request_id = _api_request_id(event)
        if api_request_id is None:
            # One authorizer runs per request: a link left by a request that never reached the
            # observer (a failure inside the gateway) is replaced, not handed to the next request.
            self._unclaimed.link = link
        else:
            self._add(api_request_id, [link])
        return invocation

    def claim(self, api_request_id: str) -> None:
        """Attach the invocation this thread made without a request id to the request it has just answered."""
        link: LinkedInvocation | None = getattr(self._unclaimed, "link", None)
        if link is not None:
            self._unclaimed.link = None
            self._add(api_request_id, [link], first=True)

    def of(self, api_request_id: str) -> list[LinkedInvocation]:
        """The invocations that served one API request, authorizer first."""
        with self._lock:
            return list(self._links.get(api_request_id, ()))

    def _add(self, api_request_id: str, links: list[LinkedInvocation], *, first: bool = False) -> None:
        with self._lock:
            existing = self._links.pop(api_request_id, [])
            self._links[api_request_id] = [*links, *existing] if first else [*existing, *links]
            while len(self._links) > self._capacity:
                self._links.popitem(last=False)


def _api_request_id(event: object) -> str | None:
    if not isinstance(event, Mapping):
        return None
    context = event.get("requestContext")
    request_id = context.get("requestId") if isinstance(context, Mapping) else None
    return request_id if isinstance(request_id, str) else None


def _error_summary(invocation: Invocation) -> str | None:
    if invocation.timed_out:
        return "timed out"
    if invocation.crashed:
        return "worker process crashed"
    if invocation.error is not None:
        return f"{invocation.error.error_type}: {invocation.error.error_message}"
    return None
