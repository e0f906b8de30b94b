from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from shop.domain.models import CreateOrderRequest, Health
from shop.domain.permissions import Action
from shop.entrypoints.http import MAX_BODY_BYTES, ApiRequest, ApiResponse, endpoint
from shop.entrypoints.routes import HEALTH
from shop.errors import Conflict, Contention, NotFound, OutOfStock, Shortage, Throttled, Unavailable
from tests.support.events import FakeLambdaContext, api_event, json_body


def call(fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    handler = endpoint(HEALTH)(fn)
    result: dict[str, Any] = handler(event, FakeLambdaContext())
    return result


def parse_order(request: ApiRequest) -> ApiResponse:
    request.body_as(CreateOrderRequest)
    return ApiResponse(201, Health())


def test_a_success_carries_the_security_headers() -> None:
    response = call(lambda request: ApiResponse(200, Health()), api_event("health"))

    headers = response["headers"]
    assert response["statusCode"] == 200 and json_body(response) == {"status": "ok"}
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("error", "status"),
    [(NotFound("x"), 404), (Conflict("x"), 409), (Unavailable("x"), 503), (Throttled("x", 30), 429)],
)
def test_domain_errors_become_problem_details_with_their_status(error: Exception, status: int) -> None:
    def fail(request: ApiRequest) -> ApiResponse:
        raise error

    response = call(fail, api_event("health", request_id="req-7"))

    problem = json_body(response)
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert problem["status"] == status and problem["request_id"] == "req-7"
    assert {"type", "title", "detail", "instance"} <= problem.keys()


def test_a_throttled_answer_says_when_to_retry() -> None:
    def fail(request: ApiRequest) -> ApiResponse:
        raise Throttled("slow down", 17)

    assert call(fail, api_event("health"))["headers"]["Retry-After"] == "17"


def test_contention_is_a_503_that_says_when_to_retry() -> None:
    def fail(request: ApiRequest) -> ApiResponse:
        raise Contention("busy", 1)

    response = call(fail, api_event("health"))

    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"


def test_out_of_stock_is_a_409_listing_each_short_sku() -> None:
    def fail(request: ApiRequest) -> ApiResponse:
        raise OutOfStock([Shortage("LAMP-1", requested=5, available=2)])

    response = call(fail, api_event("health"))

    assert response["statusCode"] == 409
    assert json_body(response)["shortages"] == [{"sku": "LAMP-1", "requested": 5, "available": 2, "short_by": 3}]


def test_an_unexpected_error_is_a_500_without_internals() -> None:
    def crash(request: ApiRequest) -> ApiResponse:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    response = call(crash, api_event("health"))

    assert response["statusCode"] == 500
    assert "hunter2" not in response["body"] and "db.internal" not in response["body"]


def test_malformed_json_is_a_400() -> None:
    response = call(parse_order, api_event("create_order", raw_body='{"items": ['))

    assert response["statusCode"] == 400


def test_schema_violations_are_a_422_naming_every_failing_field() -> None:
    body = {"items": [{"sku": "A", "quantity": 0}, {"sku": "-"}], "currency": "XXX", "payment_method": "card"}

    response = call(parse_order, api_event("create_order", body=body))

    problem = json_body(response)
    locations = {error["location"] for error in problem["errors"]}
    assert response["statusCode"] == 422
    assert locations == {
        "body.items.0.quantity",
        "body.items.1.sku",
        "body.items.1.quantity",
        "body.currency",
        "body.payment_method",
    }


def test_a_client_price_is_a_422_problem_saying_prices_come_from_the_catalog() -> None:
    body = json.loads(api_event("create_order")["body"])
    body["items"][0]["unit_price"] = 1

    response = call(parse_order, api_event("create_order", body=body))

    problem = json_body(response)
    assert response["statusCode"] == 422
    assert [error["location"] for error in problem["errors"]] == ["body.items.0"]
    assert "prices come from the catalog" in problem["errors"][0]["message"]


def test_unknown_fields_are_rejected() -> None:
    body = json.loads(api_event("create_order")["body"]) | {"discount": 100}

    response = call(parse_order, api_event("create_order", body=body))

    assert response["statusCode"] == 422
    assert [e["location"] for e in json_body(response)["errors"]] == ["body.discount"]


def test_a_body_over_64_kib_is_a_413() -> None:
    response = call(parse_order, api_event("create_order", raw_body=" " * (MAX_BODY_BYTES + 1)))

    assert response["statusCode"] == 413


def test_a_protected_route_without_authorizer_context_is_a_401() -> None:
    def whoami(request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, Health(), headers={"X-User": request.principal.user_id})

    event = api_event("me")
    event["requestContext"].pop("authorizer")

    assert call(whoami, event)["statusCode"] == 401


def test_a_caller_whose_token_expired_is_a_401_even_if_the_gateway_cached_its_policy() -> None:
    # Given an authorizer answer that API Gateway still serves from its cache, for a token past its `exp`
    def whoami(request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, Health(), headers={"X-User": request.principal.user_id})

    event = api_event("me", user_id="user-1")
    event["requestContext"]["authorizer"]["expires_at"] = "1000000000"

    # When the route reads the caller, Then it is refused as unauthenticated
    assert call(whoami, event)["statusCode"] == 401


def test_the_route_action_is_authorized_before_the_handler_runs() -> None:
    # Given a customer calling a route whose action needs an admin
    ran: list[str] = []

    def create(request: ApiRequest) -> ApiResponse:
        ran.append("handler")
        return ApiResponse(201, Health())

    admin_route = replace(HEALTH, public=False, action=Action.PRODUCT_WRITE)
    handler = endpoint(admin_route)(create)

    # When it is called
    response = handler(api_event("me", user_id="user-1"), FakeLambdaContext())

    # Then it answers a 403 problem and the handler never ran
    assert response["statusCode"] == 403 and json_body(response)["status"] == 403
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert ran == []


def test_a_protected_route_without_an_action_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="names no action"):
        endpoint(replace(HEALTH, public=False))


def test_base64_bodies_are_decoded() -> None:
    import base64

    event = api_event("create_order")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True

    assert call(parse_order, event)["statusCode"] == 201
