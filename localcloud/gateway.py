"""API Gateway (REST) emulator: routes HTTP requests to functions as v1 Lambda proxy events.

One `ApiGateway` serves one REST API of the stack, at the root of its own port, the way a deployed
API has its own domain: the stage is not part of the local URL (it is in the event). A stack with
several REST APIs needs one `ApiGateway` per API (`api_logical_id`); without one the gateway serves
the stack's first API and logs the others it leaves out.

Behaviour follows a deployed REST API with Lambda proxy integrations, as SAM deploys it:
- the most specific resource wins (literal segment, then `{param}`, then `{proxy+}`); a path with
  no resource, or a resource without the method (nor ANY), answers 403 Missing Authentication Token;
- with `Cors` set, OPTIONS on a resource without its own OPTIONS route is SAM's mock preflight;
  responses of functions get no CORS headers added: with proxy integrations the function returns
  them itself, as on AWS;
- a function error, a crash, a malformed proxy response, or the function's own timeout answer 502;
  only the 29 s integration timeout answers 504;
- a base64 response body is decoded only when the request's first Accept type is one of the API's
  binary media types, otherwise the base64 text goes out as is (as API Gateway does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from localcloud.authorizers import AuthorizerRejected, LambdaAuthorizers
from localcloud.spec import ApiSpec, CorsSpec, Invoker, StackSpec

logger = logging.getLogger(__name__)

MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_S = 29.0
RESERVED_PATH_PREFIX = "/_localcloud/"
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# SAM's Authorizer value that opts a route out of the API's default authorizer.
NO_AUTHORIZER = "NONE"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ID_ALPHABET = string.ascii_letters + string.digits
# Set by the HTTP layer itself; a function cannot choose them.
_CONNECTION_HEADERS = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive", "date"})


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the gateway received it."""

    method: str
    # As sent, percent-encoded, without the query string.
    path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP response; Content-Length, Date and Connection are added when it is sent."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class GatewayExchange:
    """One request the gateway answered: what the observer hook is given."""

    method: str
    path: str
    response: HttpResponse
    duration_ms: float
    request_id: str
    function_logical_id: str | None = None
    # The proxy event sent to the function (None when no function was reached).
    event: Mapping[str, Any] | None = None
    # The function's return value (None when it failed or was not reached).
    function_payload: object = None

    @property
    def status(self) -> int:
        return self.response.status


RequestObserver = Callable[[GatewayExchange], None]
# Serves `/_localcloud/...`; returning None answers 404.
ReservedPathHandler = Callable[[HttpRequest], HttpResponse | None]


@dataclass(frozen=True)
class Route:
    """One method of one resource, bound to a function."""

    resource: str
    method: str
    function_logical_id: str
    authorizer: str | None


@dataclass(frozen=True)
class RouteMatch:
    """The resource a request path resolved to, with the path parameters it captured."""

    resource: str
    path_parameters: Mapping[str, str]
    methods: Mapping[str, Route]

    def route_for(self, method: str) -> Route | None:
        return self.methods.get(method) or self.methods.get("ANY")


@dataclass
class _Resource:
    path: str
    literals: dict[str, _Resource] = field(default_factory=dict)
    # (name, greedy, child): API Gateway allows one variable child per resource.
    variable: tuple[str, bool, _Resource] | None = None
    methods: dict[str, Route] = field(default_factory=dict)


class RouteTable:
    """The resource tree of one REST API."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._root = _Resource("/")
        for route in routes:
            self._add(route)

    def match(self, path: str) -> RouteMatch | None:
        """Resolves a percent-encoded request path to its most specific resource."""
        found = _match_segments(self._root, [unquote(segment) for segment in _segments(path)], 0)
        if found is None:
            return None
        resource, parameters = found
        return RouteMatch(resource.path, parameters, dict(resource.methods))

    def _add(self, route: Route) -> None:
        node = self._root
        segments = _segments(route.resource)
        for index, segment in enumerate(segments):
            node = _child_resource(node, segment, route.resource, is_last=index == len(segments) - 1)
        if route.method in node.methods:
            other = node.methods[route.method].function_logical_id
            raise ValueError(
                f"route {route.method} {route.resource} is bound to both {other} and {route.function_logical_id}"
            )
        node.methods[route.method] = route


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _child_resource(node: _Resource, segment: str, resource: str, *, is_last: bool) -> _Resource:
    child_path = f"{node.path.rstrip('/')}/{segment}"
    if not (segment.startswith("{") and segment.endswith("}")):
        return node.literals.setdefault(segment, _Resource(child_path))
    name = segment[1:-1]
    greedy = name.endswith("+")
    name = name.removesuffix("+")
    if not name:
        raise ValueError(f"route {resource}: empty path variable {segment}")
    if greedy and not is_last:
        raise ValueError(f"route {resource}: greedy path variable {segment} must be the last segment")
    if node.variable is None:
        node.variable = (name, greedy, _Resource(child_path))
        return node.variable[2]
    existing_name, existing_greedy, existing = node.variable
    if (existing_name, existing_greedy) != (name, greedy):
        raise ValueError(
            f"route {resource}: {segment} conflicts with sibling {existing.path}: "
            "API Gateway allows one variable path part per resource"
        )
    return existing


def _match_segments(node: _Resource, segments: list[str], index: int) -> tuple[_Resource, dict[str, str]] | None:
    if index == len(segments):
        return node, {}
    literal = node.literals.get(segments[index])
    if literal is not None:
        found = _match_segments(literal, segments, index + 1)
        if found is not None:
            return found
    if node.variable is None:
        return None
    name, greedy, child = node.variable
    if greedy:
        return child, {name: "/".join(segments[index:])}
    found = _match_segments(child, segments, index + 1)
    if found is None:
        return None
    resource, parameters = found
    return resource, {name: segments[index], **parameters}


@dataclass(frozen=True)
class _RequestIds:
    request_id: str
    extended_request_id: str
    trace_id: str
    received_at: datetime

    @classmethod
    def new(cls) -> _RequestIds:
        now = datetime.now(UTC)
        return cls(
            request_id=str(uuid.uuid4()),
            extended_request_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "=",
            trace_id=f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}",
            received_at=now,
        )


@dataclass(frozen=True)
class _Answer:
    response: HttpResponse
    function_logical_id: str | None = None
    event: Mapping[str, Any] | None = None
    function_payload: object = None


class ApiGateway:
    """A local REST API endpoint that invokes the stack's functions like API Gateway's Lambda proxy integration."""

    def __init__(
        self,
        stack: StackSpec,
        invoker: Invoker,
        *,
        api_logical_id: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        observer: RequestObserver | None = None,
        reserved_path_handler: ReservedPathHandler | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        authorizer_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stack = stack
        self._api = _select_api(stack, api_logical_id)
        self._invoker = invoker
        self._host = host
        self._port = port
        self._observer = observer
        self._reserved_path_handler = reserved_path_handler
        self._integration_timeout_s = integration_timeout_s
        self._authorizers = LambdaAuthorizers(self._api.authorizers, invoker, clock=authorizer_clock)
        self._routes = RouteTable(self._routes_of_api())
        self._binary_media_types = tuple(
            media_type.replace("~1", "/").lower() for media_type in self._api.binary_media_types
        )
        self._api_id = _short_id(f"api:{self._api.logical_id}", 10)
        self._deployment_id = _short_id(f"deployment:{self._api.logical_id}", 6)
        self._executor: ThreadPoolExecutor | None = None
        self._server: _GatewayHttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def api(self) -> ApiSpec:
        return self._api

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Binds the port and serves requests on a background thread."""
        if self._server is not None:
            raise RuntimeError("the gateway is already started")
        self._server = _GatewayHttpServer((self._host, self._port), _GatewayRequestHandler, self)
        # A function past the integration timeout keeps its thread until it ends; the HTTP thread is freed.
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="apigw-integration")
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="apigw-server", daemon=True
        )
        self._thread.start()
        logger.info("API %s (stage %s) listening on %s", self._api.logical_id, self._api.stage, self.url)

    def stop(self) -> None:
        """Stops accepting requests and releases the port; invocations under way finish on their own."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self._server = None
        self._thread = None

    def notify_observer(self, exchange: GatewayExchange) -> None:
        """Hands a finished exchange to the observer hook, if any."""
        if self._observer is not None and not _is_reserved(exchange.path):
            self._observer(exchange)

    def handle(self, request: HttpRequest) -> GatewayExchange:
        """Answers one request as the deployed API would; the gateway must be started."""
        started = time.perf_counter()
        ids = _RequestIds.new()
        if _is_reserved(request.path):
            return GatewayExchange(
                method=request.method,
                path=unquote(request.path),
                response=self._reserved_response(request),
                duration_ms=(time.perf_counter() - started) * 1000,
                request_id=ids.request_id,
            )
        answer = self._answer(request, ids)
        headers = (
            *answer.response.headers,
            ("x-amzn-RequestId", ids.request_id),
            ("x-amz-apigw-id", ids.extended_request_id),
            ("X-Amzn-Trace-Id", ids.trace_id),
        )
        return GatewayExchange(
            method=request.method,
            path=unquote(request.path),
            response=HttpResponse(answer.response.status, headers, answer.response.body),
            duration_ms=(time.perf_counter() - started) * 1000,
            request_id=ids.request_id,
            function_logical_id=answer.function_logical_id,
            event=answer.event,
            function_payload=answer.function_payload,
        )

    def _answer(self, request: HttpRequest, ids: _RequestIds) -> _Answer:
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            return _Answer(_gateway_error(413, "Request Too Long"))
        match = self._routes.match(request.path)
        target = (
            None if match is None else self._preflight_cors(request.method, match) or match.route_for(request.method)
        )
        if match is None or target is None:
            return _Answer(_gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException"))
        event = self._proxy_event(request, match, ids)
        authorizer = target.authorizer if isinstance(target, Route) else self._preflight_authorizer()
        if authorizer is not None:
            decision = self._authorizers.authorize(authorizer, self._method_arn(request), event)
            if isinstance(decision, AuthorizerRejected):
                return _Answer(_gateway_error(decision.status, decision.message, decision.error_type))
            event["requestContext"]["authorizer"] = decision.authorizer_context
        if isinstance(target, CorsSpec):
            return _Answer(_preflight_response(target, match))
        return self._integrate(target.function_logical_id, event, request)

    def _integrate(self, function_logical_id: str, event: dict[str, Any], request: HttpRequest) -> _Answer:
        if self._executor is None:
            raise RuntimeError("the gateway is not started")
        future = self._executor.submit(self._invoker.invoke, function_logical_id, event)
        try:
            invocation = future.result(timeout=self._integration_timeout_s)
        except TimeoutError:
            logger.warning("%s did not answer within %.0f s", function_logical_id, self._integration_timeout_s)
            return _Answer(_gateway_error(504, "Endpoint request timed out"), function_logical_id, event)
        if invocation.failed:
            logger.warning("%s failed: %s", function_logical_id, invocation.failure_summary())
            return _Answer(_internal_server_error(), function_logical_id, event)
        accept = _first_header(request.headers, "Accept")
        response = _proxy_response(invocation.payload, accept, self._binary_media_types)
        if response is None:
            logger.warning("%s returned a malformed Lambda proxy response", function_logical_id)
            return _Answer(_internal_server_error(), function_logical_id, event, invocation.payload)
        return _Answer(response, function_logical_id, event, invocation.payload)

    def _routes_of_api(self) -> list[Route]:
        routes = []
        for function in self._stack.functions.values():
            for api_event in function.api_events:
                if api_event.api_logical_id != self._api.logical_id:
                    continue
                authorizer = None if api_event.authorizer == NO_AUTHORIZER else api_event.authorizer
                if authorizer is not None and authorizer not in self._authorizers:
                    raise ValueError(
                        f"{function.logical_id}: route {api_event.method.upper()} {api_event.path} uses authorizer "
                        f"{authorizer!r}, which API {self._api.logical_id} does not define"
                    )
                method = api_event.method.upper()
                if method not in (*HTTP_METHODS, "ANY"):
                    raise ValueError(f"{function.logical_id}: unsupported method {api_event.method!r}")
                routes.append(Route(api_event.path, method, function.logical_id, authorizer))
        return routes

    def _preflight_cors(self, method: str, match: RouteMatch) -> CorsSpec | None:
        # SAM adds the preflight mock to every path that has methods and no OPTIONS method of its own.
        if method == "OPTIONS" and match.methods and "OPTIONS" not in match.methods:
            return self._api.cors
        return None

    def _preflight_authorizer(self) -> str | None:
        if self._api.add_default_authorizer_to_cors_preflight and self._api.default_authorizer not in (
            None,
            NO_AUTHORIZER,
        ):
            return self._api.default_authorizer
        return None

    def _method_arn(self, request: HttpRequest) -> str:
        return (
            f"arn:aws:execute-api:{self._stack.region}:{self._stack.account_id}:{self._api_id}/"
            f"{self._api.stage}/{request.method}/{unquote(request.path).lstrip('/')}"
        )

    def _reserved_response(self, request: HttpRequest) -> HttpResponse:
        if self._reserved_path_handler is not None:
            response = self._reserved_path_handler(request)
            if response is not None:
                return response
        return _gateway_error(404, "Not Found")

    def _proxy_event(self, request: HttpRequest, match: RouteMatch, ids: _RequestIds) -> dict[str, Any]:
        headers, multi_value_headers = _event_headers(request, ids, self._server_port())
        query, multi_value_query = _query_parameters(request.query_string)
        body, is_base64 = _event_body(request, self._binary_media_types)
        path = unquote(request.path) or "/"
        host = _first_header(request.headers, "Host") or f"{self._host}:{self._server_port()}"
        return {
            "resource": match.resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_value_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_value_query or None,
            "pathParameters": dict(match.path_parameters) or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": _short_id(f"resource:{self._api.logical_id}:{match.resource}", 6),
                "resourcePath": match.resource,
                "httpMethod": request.method,
                "extendedRequestId": ids.extended_request_id,
                "requestTime": _request_time(ids.received_at),
                # The path as the client called it. The local gateway serves the stage at its root,
                # as API Gateway serves it behind a custom domain, where this field has no stage.
                "path": path,
                "accountId": self._stack.account_id,
                "protocol": request.protocol,
                "stage": self._api.stage,
                "domainPrefix": host.split(".")[0].split(":")[0],
                "requestTimeEpoch": int(ids.received_at.timestamp() * 1000),
                "requestId": ids.request_id,
                "identity": _identity(request),
                "domainName": host,
                "deploymentId": self._deployment_id,
                "apiId": self._api_id,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _server_port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])


def _select_api(stack: StackSpec, api_logical_id: str | None) -> ApiSpec:
    if not stack.apis:
        raise ValueError("the stack defines no REST API to serve")
    if api_logical_id is None:
        first, *others = stack.apis
        if others:
            logger.warning("serving REST API %s only; not served: %s", first, ", ".join(others))
        return stack.apis[first]
    if api_logical_id not in stack.apis:
        raise ValueError(f"no REST API {api_logical_id!r} in the stack (it has {', '.join(stack.apis)})")
    return stack.apis[api_logical_id]


def _is_reserved(path: str) -> bool:
    return path.startswith(RESERVED_PATH_PREFIX) or path == RESERVED_PATH_PREFIX.rstrip("/")


def _short_id(seed: str, length: int) -> str:
    # Stable across restarts so that method ARNs and ids in logs stay the same.
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _request_time(moment: datetime) -> str:
    return f"{moment:%d}/{_MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def _first_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def _event_headers(request: HttpRequest, ids: _RequestIds, port: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi_value: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi_value.setdefault(name, []).append(value)
    forwarded_for = _first_header(request.headers, "X-Forwarded-For")
    added = {
        "X-Forwarded-For": f"{forwarded_for}, {request.client_ip}" if forwarded_for else request.client_ip,
        "X-Forwarded-Port": str(port),
        "X-Forwarded-Proto": "http",
        "X-Amzn-Trace-Id": ids.trace_id,
    }
    for name, value in added.items():
        existing = next((key for key in multi_value if key.lower() == name.lower()), name)
        multi_value[existing] = [value]
    return {name: values[-1] for name, values in multi_value.items()}, multi_value


def _query_parameters(query_string: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi_value: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        multi_value.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi_value.items()}, multi_value


def _matches_media_type(content_type: str | None, media_types: tuple[str, ...]) -> bool:
    if not content_type or not media_types:
        return False
    media_type = content_type.split(";")[0].strip().lower()
    return any(fnmatchcase(media_type, pattern) for pattern in media_types)


def _event_body(request: HttpRequest, binary_media_types: tuple[str, ...]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if not _matches_media_type(_first_header(request.headers, "Content-Type"), binary_media_types):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _identity(request: HttpRequest) -> dict[str, str | None]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.client_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": _first_header(request.headers, "User-Agent"),
        "user": None,
    }


def _preflight_response(cors: CorsSpec, match: RouteMatch) -> HttpResponse:
    return HttpResponse(200, (("Content-Type", "application/json"), *_cors_headers(cors, match)), b"{}")


def _cors_headers(cors: CorsSpec, match: RouteMatch) -> list[tuple[str, str]]:
    allow_methods = cors.allow_methods
    if allow_methods is None:
        methods = HTTP_METHODS if "ANY" in match.methods else {*match.methods, "OPTIONS"}
        allow_methods = ",".join(sorted(methods))
    headers = [
        ("Access-Control-Allow-Origin", _unquote_cors_value(cors.allow_origin)),
        ("Access-Control-Allow-Methods", _unquote_cors_value(allow_methods)),
    ]
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", _unquote_cors_value(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def _unquote_cors_value(value: str) -> str:
    # SAM's Cors values are API Gateway string literals, quoted: "'*'".
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _gateway_error(status: int, message: str | None, error_type: str | None = None) -> HttpResponse:
    headers = [("Content-Type", "application/json")]
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponse(status, tuple(headers), json.dumps({"message": message}, separators=(",", ":")).encode())


def _internal_server_error() -> HttpResponse:
    return _gateway_error(502, "Internal server error", "InternalServerErrorException")


def _proxy_response(payload: object, accept: str | None, binary_media_types: tuple[str, ...]) -> HttpResponse | None:
    """Maps a Lambda proxy response to HTTP; None when API Gateway would call it malformed."""
    if not isinstance(payload, dict):
        return None
    status = payload.get("statusCode")
    body = payload.get("body")
    is_base64 = payload.get("isBase64Encoded") or False
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    if not (body is None or isinstance(body, str)) or not isinstance(is_base64, bool):
        return None
    headers = _response_headers(payload)
    if headers is None:
        return None
    encoded = (body or "").encode("utf-8")
    if is_base64 and _matches_media_type(accept, binary_media_types):
        try:
            encoded = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            return None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, tuple(headers), encoded)


def _response_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    cookies = payload.get("cookies") or []
    if not isinstance(single, dict) or not isinstance(multi, dict) or not isinstance(cookies, list):
        return None
    merged: dict[str, list[object]] = {}
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        merged[name] = list(values)
    for name, value in single.items():
        # A pair given both ways appears once, as API Gateway merges them.
        if value not in merged.setdefault(name, []):
            merged[name].append(value)
    pairs = [(name, value) for name, values in merged.items() for value in values]
    pairs += [("Set-Cookie", cookie) for cookie in cookies]
    headers = []
    for name, value in pairs:
        text = _header_text(value)
        if text is None or not _is_header_name(str(name)):
            return None
        if str(name).lower() not in _CONNECTION_HEADERS:
            headers.append((str(name), text))
    return headers


def _header_text(value: object) -> str | None:
    if isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return None
    if "\r" in text or "\n" in text:
        return None
    # http.server writes headers as latin-1: this puts the UTF-8 bytes of the value on the wire.
    return text.encode("utf-8").decode("latin-1")


def _is_header_name(name: str) -> bool:
    return bool(name) and all(33 <= ord(char) <= 126 and char != ":" for char in name)


class _GatewayHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's backlog of 5 resets connections when more clients than that connect at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], gateway: ApiGateway) -> None:
        self.gateway = gateway
        super().__init__(address, handler)


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle's algorithm on, a keep-alive client's
    # delayed ACK holds the second write back about 40 ms on every request.
    disable_nagle_algorithm = True
    server: _GatewayHttpServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
            if body is None:
                self._send(HttpResponse(400, (("Content-Type", "application/json"),), b'{"message":"Bad Request"}'))
                return
            path, _, query = self.path.partition("?")
            request = HttpRequest(
                method=self.command,
                path=urlsplit(path).path or "/",
                query_string=query,
                headers=tuple((name, str(value)) for name, value in self.headers.items()),
                body=body,
                client_ip=str(self.client_address[0]),
                protocol=self.request_version,
            )
            exchange = self.server.gateway.handle(request)
            self._send(exchange.response, close=len(body) > MAX_REQUEST_BODY_BYTES)
            self.server.gateway.notify_observer(exchange)
        except ConnectionError as error:
            logger.debug("client of %s %s went away: %s", self.command, self.path, error)
            self.close_connection = True
        except Exception:
            # The edge of the request loop: one broken request must not take the server down.
            logger.exception("request %s %s failed inside the gateway", self.command, self.path)
            self.close_connection = True

    do_DELETE = do_GET = do_HEAD = do_OPTIONS = do_PATCH = do_POST = do_PUT = _serve

    def _read_body(self) -> bytes | None:
        """The request body, at most one byte over the limit; None when its framing is invalid."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0:
            return None
        return self.rfile.read(min(length, MAX_REQUEST_BODY_BYTES + 1))

    def _read_chunked_body(self) -> bytes | None:
        body = bytearray()
        while len(body) <= MAX_REQUEST_BODY_BYTES:
            size_line = self.rfile.readline(65537).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    continue
                break
            body += self.rfile.read(size)
            self.rfile.readline(3)
        return bytes(body)

    def _send(self, response: HttpResponse, *, close: bool = False) -> None:
        reason = http.HTTPStatus(response.status).phrase if response.status in http.HTTPStatus else ""
        self.send_response_only(response.status, reason)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        logger.debug("%s - %s", self.address_string(), format % args)
