from __future__ import annotations

from openapi_spec_validator import validate

from shop.openapi import build_document
from shop.routes import ROUTES


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

    item = schemas["OrderItem"]
    assert item["properties"]["quantity"]["maximum"] == 1000
    assert item["additionalProperties"] is False
    assert schemas["CreateOrderRequest"]["properties"]["items"]["maxItems"] == 50
