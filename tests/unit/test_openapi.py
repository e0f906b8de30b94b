from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from shop.domain.models import MAX_ORDER_LINES
from shop.domain.permissions import required_roles
from shop.entrypoints.openapi import build_document
from shop.entrypoints.routes import (
    ADMIN_LIST_ORDERS,
    CREATE_ORDER,
    CREATE_PRODUCT,
    GET_PRODUCT,
    LOGIN,
    READY,
    ROUTES,
    UPDATE_PRODUCT,
    Route,
)


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(build_document("/dev"))


def test_every_route_is_documented_with_its_security() -> None:
    document = build_document("/dev")

    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        assert (operation.get("security") == []) is route.public
        assert str(route.success_status) in operation["responses"]


def test_request_and_response_schemas_come_from_the_models() -> None:
    schemas = build_document("/dev")["components"]["schemas"]

    item = schemas["OrderLineRequest"]
    assert item["properties"]["quantity"]["maximum"] == 1000
    assert set(item["properties"]) == {"sku", "quantity"}
    assert item["additionalProperties"] is False
    assert schemas["CreateOrderRequest"]["properties"]["items"]["maxItems"] == MAX_ORDER_LINES
    assert set(schemas["OrderLine"]["properties"]) == {"sku", "name", "quantity", "unit_price"}


def responses_of(route: Route) -> dict[str, Any]:
    answers: dict[str, Any] = build_document("/dev")["paths"][route.path][route.method.lower()]["responses"]
    return answers


def media_types(answer: dict[str, Any]) -> set[str]:
    return set(answer["content"])


@pytest.mark.parametrize("route", [route for route in ROUTES if not route.public], ids=lambda r: r.operation_id)
def test_protected_routes_document_the_gateways_own_refusals_as_plain_json(route: Route) -> None:
    responses = responses_of(route)

    # 401: the gateway's own refusal (and, where a route says so, a problem from the function too).
    assert responses["401"]["content"]["application/json"] == {
        "schema": {"$ref": "#/components/schemas/GatewayMessage"}
    }
    # 403: the gateway's own refusal, and the function's when the caller's roles do not allow the action.
    assert responses["403"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}},
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
    }
    # The authorizer failing answers {"message": null}; a handler's crash is a problem document.
    assert media_types(responses["500"]) == {"application/json", "application/problem+json"}


@pytest.mark.parametrize("route", [route for route in ROUTES if not route.public], ids=lambda r: r.operation_id)
def test_protected_routes_document_the_roles_their_action_requires(route: Route) -> None:
    assert route.action is not None
    operation = build_document("/dev")["paths"][route.path][route.method.lower()]

    assert operation["x-required-roles"] == [role.value for role in required_roles(route.action)]
    assert route.action.value in operation["description"]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation_id)
def test_every_route_documents_throttling_crashes_and_timeouts(route: Route) -> None:
    responses = responses_of(route)

    assert {"429", "500", "502", "504"} <= responses.keys()
    assert "application/json" in responses["429"]["content"]
    assert "application/problem+json" in responses["500"]["content"]


@pytest.mark.parametrize("route", [route for route in ROUTES if route.request_body], ids=lambda r: r.operation_id)
def test_routes_with_a_body_document_both_payload_limits(route: Route) -> None:
    assert media_types(responses_of(route)["413"]) == {"application/json", "application/problem+json"}


def test_the_login_429_is_documented_as_a_problem_with_retry_after() -> None:
    answer = responses_of(LOGIN)["429"]

    assert media_types(answer) == {"application/json", "application/problem+json"}
    assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}


def test_the_readiness_503_is_documented_with_the_readiness_body() -> None:
    assert responses_of(READY)["503"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}
    }


def test_the_gateway_message_may_be_null() -> None:
    schema = build_document("/dev")["components"]["schemas"]["GatewayMessage"]

    assert schema["required"] == ["message"]
    assert schema["properties"]["message"]["type"] == ["string", "null"]


@pytest.mark.parametrize("route", [route for route in ROUTES if route.request_body], ids=lambda r: r.operation_id)
def test_routes_with_a_body_document_what_reading_it_may_answer(route: Route) -> None:
    responses = responses_of(route)

    for status in ("400", "413", "415", "422"):
        assert "application/problem+json" in media_types(responses[status]), status


def test_placing_an_order_documents_the_401_of_an_account_that_is_gone_as_a_problem() -> None:
    answer = responses_of(CREATE_ORDER)["401"]

    assert media_types(answer) == {"application/json", "application/problem+json"}


def test_a_required_query_parameter_and_header_are_documented_as_required() -> None:
    paths = build_document("/dev")["paths"]

    admin_list = {p["name"]: p["required"] for p in paths[ADMIN_LIST_ORDERS.path]["get"]["parameters"]}
    update = {p["name"]: p["required"] for p in paths[UPDATE_PRODUCT.path]["patch"]["parameters"]}

    assert admin_list == {"status": True, "limit": False, "cursor": False}
    assert update["If-Match"] is True


def test_product_answers_document_their_etag_and_the_precondition_problems() -> None:
    for route in (GET_PRODUCT, CREATE_PRODUCT, UPDATE_PRODUCT):
        assert "ETag" in responses_of(route)[str(route.success_status)]["headers"]
    assert {"412", "428"} <= responses_of(UPDATE_PRODUCT).keys()


def test_a_route_that_needs_a_role_documents_the_roles_and_its_required_idempotency_key() -> None:
    operation = build_document("https://api.example.com")["paths"]["/orders/{order_id}/refunds"]["post"]

    assert operation["x-required-roles"] == ["support", "admin"]
    assert "support, admin" in operation["description"]
    [key] = [parameter for parameter in operation["parameters"] if parameter["in"] == "header"]
    assert (key["name"], key["required"]) == ("Idempotency-Key", True)
