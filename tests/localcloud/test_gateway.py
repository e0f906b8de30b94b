"""The API Gateway emulator over real HTTP: routing, authorizers, proxy events and response mapping."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from localcloud.gateway import MAX_REQUEST_BODY_BYTES, ApiGateway, GatewayExchange
from localcloud.http_server import HttpRequest, HttpResponse
from localcloud.spec import AuthorizerSpec, CorsSpec, StackSpec
from tests.localcloud.in_process_invoker import Handler, InProcessInvoker, SimulatedCrash, SimulatedTimeout
from tests.localcloud.spec_builders import ACCOUNT_ID, REGION, api_stack, route

StartGateway = Callable[..., ApiGateway]

ALLOW_ALL = {
    "principalId": "user-1",
    "policyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
    },
}


def echo_event(event: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def answer(status: int, body: str = "") -> Handler:
    return lambda event: {"statusCode": status, "body": body}


def token_authorizer(**overrides: Any) -> AuthorizerSpec:
    fields: dict[str, Any] = {
        "name": "TokenAuth",
        "function_logical_id": "Authorizer",
        "type": "TOKEN",
        "identity_sources": ("Authorization",),
        "ttl_s": 0,
    }
    return AuthorizerSpec(**(fields | overrides))


@pytest.fixture
def start_gateway() -> Iterator[StartGateway]:
    started: list[ApiGateway] = []

    def start(stack: StackSpec, invoker: InProcessInvoker, **options: Any) -> ApiGateway:
        gateway = ApiGateway(stack, invoker, **options)
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def echo_gateway(start_gateway: StartGateway) -> Callable[..., ApiGateway]:
    """A gateway whose single function answers with the event it received."""

    def start(path: str = "/orders/{id}", method: str = "ANY", **stack_options: Any) -> ApiGateway:
        stack = api_stack({"Echo": (route(path, method),)}, **stack_options)
        return start_gateway(stack, InProcessInvoker({"Echo": echo_event}))

    return start


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_path_parameters_and_resource_reach_the_event(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway("/orders/{orderId}/items/{itemId}", "GET")

    # When
    response = requests.get(f"{gateway.url}/orders/o%201/items/i-2", timeout=10)

    # Then
    event = response.json()
    assert response.status_code == 200
    assert event["resource"] == "/orders/{orderId}/items/{itemId}"
    assert event["path"] == "/orders/o 1/items/i-2"
    assert event["pathParameters"] == {"orderId": "o 1", "itemId": "i-2"}
    assert event["requestContext"]["resourcePath"] == "/orders/{orderId}/items/{itemId}"


def test_greedy_path_variable_captures_the_rest_of_the_path(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway("/files/{proxy+}", "GET")

    # When
    response = requests.get(f"{gateway.url}/files/a/b/c.txt", timeout=10)

    # Then
    assert response.json()["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert response.json()["resource"] == "/files/{proxy+}"


def test_most_specific_route_wins(start_gateway: StartGateway) -> None:
    # Given
    stack = api_stack(
        {
            "Literal": (route("/items/special"),),
            "Parameter": (route("/items/{id}"),),
            "Greedy": (route("/{proxy+}", "ANY"),),
        }
    )
    handlers = {name: answer(200, name) for name in ("Literal", "Parameter", "Greedy")}
    gateway = start_gateway(stack, InProcessInvoker(handlers))

    # When
    served_by = {
        path: requests.get(f"{gateway.url}{path}", timeout=10).text
        for path in ("/items/special", "/items/7", "/other/x")
    }

    # Then
    assert served_by == {"/items/special": "Literal", "/items/7": "Parameter", "/other/x": "Greedy"}


def test_any_route_takes_every_method_an_explicit_route_does_not(start_gateway: StartGateway) -> None:
    # Given
    stack = api_stack({"Any": (route("/things", "ANY"),), "Get": (route("/things", "GET"),)})
    gateway = start_gateway(stack, InProcessInvoker({"Any": answer(200, "Any"), "Get": answer(200, "Get")}))

    # When
    served_by = {
        method: requests.request(method, f"{gateway.url}/things", timeout=10).text
        for method in ("GET", "POST", "DELETE")
    }

    # Then
    assert served_by == {"GET": "Get", "POST": "Any", "DELETE": "Any"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/unknown"), ("POST", "/orders/1"), ("GET", "/orders")])
def test_unknown_route_or_method_answers_missing_authentication_token(
    echo_gateway: Callable[..., ApiGateway], method: str, path: str
) -> None:
    # Given
    gateway = echo_gateway("/orders/{id}", "GET")

    # When
    response = requests.request(method, f"{gateway.url}{path}", timeout=10)

    # Then
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_every_response_carries_the_request_ids(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway()

    # When
    found = requests.get(f"{gateway.url}/orders/1", timeout=10)
    not_found = requests.get(f"{gateway.url}/nothing", timeout=10)

    # Then
    assert found.headers["x-amzn-RequestId"] == found.json()["requestContext"]["requestId"]
    assert found.headers["x-amz-apigw-id"] == found.json()["requestContext"]["extendedRequestId"]
    assert not_found.headers["x-amzn-RequestId"]
    assert not_found.headers["x-amz-apigw-id"]


def test_proxy_event_carries_the_request(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway()
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)

    # When
    connection.putrequest("POST", "/orders/42?tag=a&tag=b&empty=&q=x%20y")
    connection.putheader("X-Multi", "first")
    connection.putheader("X-Multi", "second")
    connection.putheader("User-Agent", "test-agent/1.0")
    connection.putheader("Content-Type", "application/json")
    body = '{"a": "\u00e9"}'.encode()
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    event = json.loads(connection.getresponse().read())
    connection.close()

    # Then
    assert event["httpMethod"] == "POST"
    assert event["body"] == '{"a": "\u00e9"}'
    assert event["isBase64Encoded"] is False
    assert event["headers"]["X-Multi"] == "second"
    assert event["multiValueHeaders"]["X-Multi"] == ["first", "second"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["queryStringParameters"] == {"tag": "b", "empty": "", "q": "x y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""], "q": ["x y"]}
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["path"] == "/orders/42"
    assert context["accountId"] == ACCOUNT_ID
    assert context["httpMethod"] == "POST"
    assert context["protocol"] == "HTTP/1.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "test-agent/1.0"
    assert isinstance(context["requestTimeEpoch"], int)
    assert "authorizer" not in context


def test_request_without_query_or_body_has_null_fields(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway()

    # When
    event = requests.get(f"{gateway.url}/orders/1", timeout=10).json()

    # Then
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_binary_request_body_is_base64_encoded(echo_gateway: Callable[..., ApiGateway]) -> None:
    # Given
    gateway = echo_gateway(binary_media_types=("image/png",))
    image = b"\x89PNG\r\n\x1a\n\x00\x01"

    # When
    as_binary_type = requests.post(
        f"{gateway.url}/orders/1", data=image, headers={"Content-Type": "image/png"}, timeout=10
    )
    as_text_type = requests.post(
        f"{gateway.url}/orders/1", data=b"plain", headers={"Content-Type": "text/plain"}, timeout=10
    )
    not_utf8 = requests.post(
        f"{gateway.url}/orders/1", data=b"\xff\xfe", headers={"Content-Type": "text/plain"}, timeout=10
    )

    # Then
    assert as_binary_type.json()["isBase64Encoded"] is True
    assert base64.b64decode(as_binary_type.json()["body"]) == image
    assert (as_text_type.json()["body"], as_text_type.json()["isBase64Encoded"]) == ("plain", False)
    assert base64.b64decode(not_utf8.json()["body"]) == b"\xff\xfe"
    assert not_utf8.json()["isBase64Encoded"] is True


def test_response_headers_multi_value_headers_and_cookies_are_merged(start_gateway: StartGateway) -> None:
    # Given
    def handler(event: object) -> dict[str, Any]:
        return {
            "statusCode": 201,
            "headers": {"X-Single": "one", "X-Both": "a"},
            "multiValueHeaders": {"X-Both": ["a", "b"], "Set-Cookie": ["s=1"]},
            "cookies": ["t=2"],
            "body": "created",
        }

    gateway = start_gateway(api_stack({"Fn": (route("/r", "POST"),)}), InProcessInvoker({"Fn": handler}))

    # When
    response = requests.post(f"{gateway.url}/r", timeout=10)

    # Then
    assert response.status_code == 201
    assert response.text == "created"
    assert response.raw.headers.getlist("X-Both") == ["a", "b"]
    assert response.raw.headers.getlist("Set-Cookie") == ["s=1", "t=2"]
    assert response.headers["X-Single"] == "one"
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("accept", "expected_body"),
    [("image/png", b"\x89PNG\x00"), ("application/json", base64.b64encode(b"\x89PNG\x00"))],
)
def test_base64_response_is_decoded_only_for_a_binary_accept_type(
    start_gateway: StartGateway, accept: str, expected_body: bytes
) -> None:
    # Given
    def handler(event: object) -> dict[str, Any]:
        body = base64.b64encode(b"\x89PNG\x00").decode()
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": body, "isBase64Encoded": True}

    stack = api_stack({"Fn": (route("/image"),)}, binary_media_types=("image/*",))
    gateway = start_gateway(stack, InProcessInvoker({"Fn": handler}))

    # When
    response = requests.get(f"{gateway.url}/image", headers={"Accept": accept}, timeout=10)

    # Then
    assert response.content == expected_body


@pytest.mark.parametrize(
    "payload",
    [
        "not an object",
        {"body": "no status"},
        {"statusCode": "200", "body": "status as text"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["not", "a", "map"]},
        {"statusCode": 200, "multiValueHeaders": {"X-A": "not a list"}},
    ],
)
def test_malformed_proxy_response_answers_502(start_gateway: StartGateway, payload: object) -> None:
    # Given
    gateway = start_gateway(api_stack({"Fn": (route("/r"),)}), InProcessInvoker({"Fn": lambda event: payload}))

    # When
    response = requests.get(f"{gateway.url}/r", timeout=10)

    # Then
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


@pytest.mark.parametrize("failure", [ValueError("boom"), SimulatedCrash(), SimulatedTimeout()])
def test_failed_function_answers_502(start_gateway: StartGateway, failure: Exception) -> None:
    # Given
    def handler(event: object) -> object:
        raise failure

    gateway = start_gateway(api_stack({"Fn": (route("/r"),)}), InProcessInvoker({"Fn": handler}))

    # When
    response = requests.get(f"{gateway.url}/r", timeout=10)

    # Then
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_function_slower_than_the_integration_timeout_answers_504(start_gateway: StartGateway) -> None:
    # Given
    release = threading.Event()

    def handler(event: object) -> dict[str, Any]:
        release.wait(10)
        return {"statusCode": 200, "body": "too late"}

    stack = api_stack({"Slow": (route("/slow"),)})
    gateway = start_gateway(stack, InProcessInvoker({"Slow": handler}), integration_timeout_s=0.2)

    # When
    try:
        response = requests.get(f"{gateway.url}/slow", timeout=10)
    finally:
        release.set()

    # Then
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}


def test_body_over_10_mb_answers_413_without_invoking(start_gateway: StartGateway) -> None:
    # Given
    invoker = InProcessInvoker({"Fn": answer(200)})
    gateway = start_gateway(api_stack({"Fn": (route("/upload", "POST"),)}), invoker)

    # When
    response = requests.post(f"{gateway.url}/upload", data=b"x" * (MAX_REQUEST_BODY_BYTES + 1), timeout=30)

    # Then
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
    assert invoker.calls_to("Fn") == []


def test_missing_token_answers_401_without_invoking_the_authorizer(start_gateway: StartGateway) -> None:
    # Given
    stack = api_stack({"Fn": (route("/r", authorizer="TokenAuth"),)}, authorizers={"TokenAuth": token_authorizer()})
    invoker = InProcessInvoker({"Fn": answer(200), "Authorizer": lambda event: ALLOW_ALL})
    gateway = start_gateway(stack, invoker)

    # When
    response = requests.get(f"{gateway.url}/r", timeout=10)

    # Then
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert invoker.calls_to("Authorizer") == []


def test_allowed_request_carries_the_authorizer_context(start_gateway: StartGateway) -> None:
    # Given
    def authorizer(event: Any) -> dict[str, Any]:
        return ALLOW_ALL | {"context": {"tenant": "acme", "admin": True, "quota": 5}}

    stack = api_stack({"Echo": (route("/r", authorizer="TokenAuth"),)}, authorizers={"TokenAuth": token_authorizer()})
    invoker = InProcessInvoker({"Echo": echo_event, "Authorizer": authorizer})
    gateway = start_gateway(stack, invoker)

    # When
    response = requests.get(f"{gateway.url}/r", headers={"Authorization": "Bearer abc"}, timeout=10)

    # Then
    context = response.json()["requestContext"]["authorizer"]
    assert {key: context[key] for key in ("principalId", "tenant", "admin", "quota")} == {
        "principalId": "user-1",
        "tenant": "acme",
        "admin": "true",
        "quota": "5",
    }
    assert isinstance(context["integrationLatency"], int)
    [authorizer_event] = invoker.calls_to("Authorizer")
    api_id = response.json()["requestContext"]["apiId"]
    assert authorizer_event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer abc",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/Prod/GET/r",
    }


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"},
            "User is not authorized to access this resource with an explicit deny",
        ),
        (
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*/Prod/GET/other"},
            "User is not authorized to access this resource",
        ),
    ],
)
def test_policy_without_an_applicable_allow_answers_403(
    start_gateway: StartGateway, statement: dict[str, str], message: str
) -> None:
    # Given
    policy = {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
    stack = api_stack({"Fn": (route("/r", authorizer="TokenAuth"),)}, authorizers={"TokenAuth": token_authorizer()})
    invoker = InProcessInvoker({"Fn": answer(200), "Authorizer": lambda event: policy})
    gateway = start_gateway(stack, invoker)

    # When
    response = requests.get(f"{gateway.url}/r", headers={"Authorization": "t"}, timeout=10)

    # Then
    assert response.status_code == 403
    assert response.json() == {"message": message}
    assert invoker.calls_to("Fn") == []


@pytest.mark.parametrize(
    ("failure", "status", "body"),
    [
        (Exception("Unauthorized"), 401, {"message": "Unauthorized"}),
        (RuntimeError("database down"), 500, {"message": None}),
        (SimulatedTimeout(), 500, {"message": None}),
    ],
)
def test_failing_authorizer_answers_401_or_500(
    start_gateway: StartGateway, failure: Exception, status: int, body: dict[str, Any]
) -> None:
    # Given
    def authorizer(event: object) -> object:
        raise failure

    stack = api_stack({"Fn": (route("/r", authorizer="TokenAuth"),)}, authorizers={"TokenAuth": token_authorizer()})
    gateway = start_gateway(stack, InProcessInvoker({"Fn": answer(200), "Authorizer": authorizer}))

    # When
    response = requests.get(f"{gateway.url}/r", headers={"Authorization": "t"}, timeout=10)

    # Then
    assert (response.status_code, response.json()) == (status, body)


def test_authorizer_result_is_cached_for_its_ttl_and_evaluated_per_method_arn(start_gateway: StartGateway) -> None:
    # Given
    def authorizer(event: Any) -> dict[str, Any]:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
        return {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}}

    clock = Clock()
    stack = api_stack(
        {"Fn": (route("/a", authorizer="TokenAuth"), route("/b", authorizer="TokenAuth"))},
        authorizers={"TokenAuth": token_authorizer(ttl_s=300)},
    )
    invoker = InProcessInvoker({"Fn": answer(200, "ok"), "Authorizer": authorizer})
    gateway = start_gateway(stack, invoker, authorizer_clock=clock)
    headers = {"Authorization": "token-1"}

    # When
    first = requests.get(f"{gateway.url}/a", headers=headers, timeout=10)
    second = requests.get(f"{gateway.url}/a", headers=headers, timeout=10)
    other_path = requests.get(f"{gateway.url}/b", headers=headers, timeout=10)
    calls_within_ttl = len(invoker.calls_to("Authorizer"))
    clock.now += 301
    after_ttl = requests.get(f"{gateway.url}/b", headers=headers, timeout=10)

    # Then
    assert (first.status_code, second.status_code) == (200, 200)
    assert other_path.status_code == 403
    assert calls_within_ttl == 1
    assert after_ttl.status_code == 200
    assert len(invoker.calls_to("Authorizer")) == 2


def test_token_failing_the_validation_expression_answers_401_without_invoking(start_gateway: StartGateway) -> None:
    # Given
    authorizers = {"TokenAuth": token_authorizer(validation_expression=r"Bearer [a-z0-9]+")}
    stack = api_stack({"Fn": (route("/r", authorizer="TokenAuth"),)}, authorizers=authorizers)
    invoker = InProcessInvoker({"Fn": answer(200), "Authorizer": lambda event: ALLOW_ALL})
    gateway = start_gateway(stack, invoker)

    # When
    rejected = requests.get(f"{gateway.url}/r", headers={"Authorization": "Basic xyz"}, timeout=10)
    accepted = requests.get(f"{gateway.url}/r", headers={"Authorization": "Bearer abc1"}, timeout=10)

    # Then
    assert rejected.status_code == 401
    assert accepted.status_code == 200
    assert len(invoker.calls_to("Authorizer")) == 1


def test_request_authorizer_gets_the_request_and_needs_every_identity_source(start_gateway: StartGateway) -> None:
    # Given
    authorizer_spec = AuthorizerSpec(
        name="RequestAuth",
        function_logical_id="Authorizer",
        type="REQUEST",
        identity_sources=("method.request.header.X-Api-Key", "method.request.querystring.tenant"),
        ttl_s=0,
    )
    stack = api_stack(
        {"Fn": (route("/items/{id}", authorizer="RequestAuth"),)}, authorizers={"RequestAuth": authorizer_spec}
    )
    invoker = InProcessInvoker({"Fn": answer(200), "Authorizer": lambda event: ALLOW_ALL})
    gateway = start_gateway(stack, invoker)

    # When
    without_query = requests.get(f"{gateway.url}/items/9", headers={"X-Api-Key": "k"}, timeout=10)
    complete = requests.get(f"{gateway.url}/items/9?tenant=acme", headers={"X-Api-Key": "k"}, timeout=10)

    # Then
    assert without_query.status_code == 401
    assert complete.status_code == 200
    [event] = invoker.calls_to("Authorizer")
    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith("/Prod/GET/items/9")
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/items/9", "GET")
    assert event["headers"]["X-Api-Key"] == "k"
    assert event["queryStringParameters"] == {"tenant": "acme"}
    assert event["pathParameters"] == {"id": "9"}
    assert event["requestContext"]["stage"] == "Prod"


def test_cors_preflight_is_answered_by_the_gateway(start_gateway: StartGateway) -> None:
    # Given
    cors = CorsSpec(allow_origin="'https://shop.example'", allow_headers="'Content-Type,Authorization'", max_age=600)
    stack = api_stack({"Fn": (route("/orders", "GET"), route("/orders", "POST"))}, cors=cors)
    invoker = InProcessInvoker({"Fn": answer(200, "listed")})
    gateway = start_gateway(stack, invoker)

    # When
    preflight = requests.options(f"{gateway.url}/orders", headers={"Origin": "https://shop.example"}, timeout=10)
    actual = requests.get(f"{gateway.url}/orders", headers={"Origin": "https://shop.example"}, timeout=10)

    # Then
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type,Authorization"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert len(invoker.calls_to("Fn")) == 1
    assert "Access-Control-Allow-Origin" not in actual.headers


@pytest.mark.parametrize(("authorize_preflight", "status"), [(True, 401), (False, 200)])
def test_cors_preflight_needs_the_default_authorizer_unless_disabled(
    start_gateway: StartGateway, authorize_preflight: bool, status: int
) -> None:
    # Given
    stack = api_stack(
        {"Fn": (route("/orders", "GET", authorizer="TokenAuth"),)},
        authorizers={"TokenAuth": token_authorizer()},
        default_authorizer="TokenAuth",
        cors=CorsSpec(allow_origin="'*'"),
        add_default_authorizer_to_cors_preflight=authorize_preflight,
    )
    gateway = start_gateway(stack, InProcessInvoker({"Fn": answer(200), "Authorizer": lambda event: ALLOW_ALL}))

    # When
    preflight = requests.options(f"{gateway.url}/orders", timeout=10)

    # Then
    assert preflight.status_code == status


def test_reserved_prefix_is_never_routed_to_functions(start_gateway: StartGateway) -> None:
    # Given
    def console(request: HttpRequest) -> HttpResponse | None:
        if request.path == "/_localcloud/health":
            return HttpResponse(200, (("Content-Type", "text/plain"),), b"up")
        return None

    stack = api_stack({"Greedy": (route("/{proxy+}", "ANY"),)})
    invoker = InProcessInvoker({"Greedy": answer(200)})
    gateway = start_gateway(stack, invoker, reserved_path_handler=console)

    # When
    handled = requests.get(f"{gateway.url}/_localcloud/health", timeout=10)
    unhandled = requests.get(f"{gateway.url}/_localcloud/other", timeout=10)

    # Then
    assert (handled.status_code, handled.text) == (200, "up")
    assert unhandled.status_code == 404
    assert invoker.calls_to("Greedy") == []


def test_observer_sees_each_exchange(start_gateway: StartGateway) -> None:
    # Given
    exchanges: list[GatewayExchange] = []
    stack = api_stack({"Echo": (route("/orders/{id}"),)})
    gateway = start_gateway(stack, InProcessInvoker({"Echo": echo_event}), observer=exchanges.append)

    # When
    response = requests.get(f"{gateway.url}/orders/5", timeout=10)
    requests.get(f"{gateway.url}/missing", timeout=10)

    # Then, once the observer has run (after each response is sent)
    deadline = time.monotonic() + 10
    while len(exchanges) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    served, missing = exchanges
    assert (served.method, served.path, served.status, served.function_logical_id) == ("GET", "/orders/5", 200, "Echo")
    assert served.request_id == response.headers["x-amzn-RequestId"]
    assert served.event is not None and served.event["pathParameters"] == {"id": "5"}
    assert isinstance(served.function_payload, dict) and served.function_payload["statusCode"] == 200
    assert (missing.status, missing.function_logical_id, missing.event) == (403, None, None)


def test_conflicting_routes_are_rejected_at_construction() -> None:
    # Given
    stack = api_stack({"One": (route("/orders/{id}"),), "Two": (route("/orders/{orderId}", "POST"),)})

    # When / Then
    with pytest.raises(ValueError, match="one variable path part"):
        ApiGateway(stack, InProcessInvoker({}))


def test_route_naming_an_undefined_authorizer_is_rejected_at_construction() -> None:
    # Given
    stack = api_stack({"Fn": (route("/r", authorizer="Missing"),)})

    # When / Then
    with pytest.raises(ValueError, match="'Missing'"):
        ApiGateway(stack, InProcessInvoker({}))
