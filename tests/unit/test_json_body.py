"""Request bodies at the edge: media type, depth, integer size and duplicate keys never reach a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shop.domain.models import CreateOrderRequest, Health
from shop.entrypoints.http import ApiRequest, ApiResponse, endpoint
from shop.entrypoints.json_body import MAX_DEPTH, nesting_depth
from shop.entrypoints.routes import CREATE_ORDER
from tests.support.events import FakeLambdaContext, api_event, json_body, load_event

ORDER_TEXT: str = load_event("create_order")["body"]


def parse_order(request: ApiRequest) -> ApiResponse:
    request.body_as(CreateOrderRequest)
    return ApiResponse(201, Health())


def post(raw_body: str, content_type: str | None = "application/json") -> dict[str, Any]:
    event = api_event("create_order", raw_body=raw_body)
    event["headers"].pop("Content-Type")
    if content_type is not None:
        event["headers"]["content-type"] = content_type
    result: dict[str, Any] = endpoint(CREATE_ORDER)(parse_order)(event, FakeLambdaContext())
    return result


def order_with_quantity(literal: str) -> str:
    return ORDER_TEXT.replace('"quantity": 2', f'"quantity": {literal}', 1)


@pytest.mark.parametrize("opening", ["[", '{"a": '], ids=["arrays", "objects"])
def test_ten_thousand_nested_levels_are_a_400_not_a_recursion_error(opening: str) -> None:
    response = post(opening * 10_000)

    problem = json_body(response)
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert f"deeper than {MAX_DEPTH} levels" in problem["detail"]


def test_brackets_inside_strings_do_not_count_towards_the_depth() -> None:
    body = json.loads(ORDER_TEXT) | {"payment_method": "[" * 1000 + '\\"{' * 1000}

    response = post(json.dumps(body))

    assert response["statusCode"] == 422
    assert [error["location"] for error in json_body(response)["errors"]] == ["body.payment_method"]


def test_an_unterminated_string_full_of_escaped_quotes_is_a_400() -> None:
    assert post('{"sku": "' + '\\"' * 30_000)["statusCode"] == 400


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('{"a": [{"b": "]]]"}]}', 3), ('["\\\\", ["x"]]', 2), ('"[[[', 0)],
)
def test_the_depth_is_measured_on_the_raw_text(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


def test_a_five_thousand_digit_quantity_is_a_422_naming_the_field() -> None:
    response = post(order_with_quantity("9" * 5000))

    problem = json_body(response)
    assert response["statusCode"] == 422
    assert problem["errors"] == [{"location": "body.items.0.quantity", "message": "Integer longer than 64 digits"}]


@pytest.mark.parametrize("literal", ["1" + "0" * 40, "-" + "9" * 64], ids=["forty-one digits", "negative"])
def test_integers_beyond_the_bounds_are_a_422_naming_the_field(literal: str) -> None:
    response = post(order_with_quantity(literal))

    assert response["statusCode"] == 422
    assert [error["location"] for error in json_body(response)["errors"]] == ["body.items.0.quantity"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_constants_are_a_400(literal: str) -> None:
    assert post(order_with_quantity(literal))["statusCode"] == 400


def test_a_duplicate_key_is_a_400_naming_it() -> None:
    text = ORDER_TEXT.replace('"currency": "EUR"', '"currency": "EUR", "currency": "USD"')

    response = post(text)

    assert response["statusCode"] == 400
    assert json_body(response)["detail"] == 'the request body repeats the key "currency"'


def test_a_duplicate_key_in_a_nested_object_is_a_400() -> None:
    text = ORDER_TEXT.replace('"quantity": 2', '"quantity": 2, "quantity": 900', 1)

    assert post(text)["statusCode"] == 400


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/json",
        "application/json-patch+json",
        "application/json; charset=iso-8859-1",
        None,
    ],
)
def test_a_body_that_is_not_application_json_is_a_415_problem(content_type: str | None) -> None:
    response = post(ORDER_TEXT, content_type)

    problem = json_body(response)
    assert response["statusCode"] == 415
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert problem["status"] == 415 and problem["title"] == "Unsupported media type"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON", "application/json; charset=UTF-8", 'application/json;charset="utf-8"'],
)
def test_application_json_in_utf8_is_taken_in_any_spelling(content_type: str) -> None:
    assert post(ORDER_TEXT, content_type)["statusCode"] == 201


def test_a_body_that_is_not_utf8_is_a_400() -> None:
    event = api_event("create_order")
    event["body"] = "eyJhIjogIv8ifQ=="  # base64 of {"a": "\xff"}
    event["isBase64Encoded"] = True

    response = endpoint(CREATE_ORDER)(parse_order)(event, FakeLambdaContext())

    assert response["statusCode"] == 400
