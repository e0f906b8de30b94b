from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from shop.entrypoints.openapi import build_document
from shop.entrypoints.routes import LOGIN, READY, ROUTES, Route


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
    assert schemas["CreateOrderRequest"]["properties"]["items"]["maxItems"] == 49
    assert set(schemas["OrderLine"]["properties"]) == {"sku", "name", "quantity", "unit_price"}


def responses_of(route: Route) -> dict[str, Any]:
    answers: dict[str, Any] = build_document("/dev")["paths"][route.path][route.method.lower()]["responses"]
    return answers


def media_types(answer: dict[str, Any]) -> set[str]:
    return set(answer["content"])


@pytest.mark.parametrize("route", [route for route in ROUTES if not route.public], ids=lambda r: r.operation_id)
def test_protected_routes_document_the_gateways_own_refusals_as_plain_json(route: Route) -> None:
    responses = responses_of(route)

    for status in ("401", "403"):
        # A 403 that the handler answers itself (a role it lacks) is a problem document besides.
        assert responses[status]["content"]["application/json"] == {
            "schema": {"$ref": "#/components/schemas/GatewayMessage"}
        }
    assert ("application/problem+json" in responses["403"]["content"]) is (403 in route.errors)
    # The authorizer failing answers {"message": null}; a handler's crash is a problem document.
    assert media_types(responses["500"]) == {"application/json", "application/problem+json"}


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
