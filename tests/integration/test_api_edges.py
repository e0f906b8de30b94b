"""The API's edges, in-process against moto: bad bodies get 4xx problems, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.events import api_event, json_body, load_event

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
PASSWORD = "correct horse battery staple"
ORDER_TEXT: str = load_event("create_order")["body"]
ROUTES_WITH_A_BODY = [("register", "register"), ("login", "login"), ("create_order", "create_order")]


def register(invoke: Invoke, email: str = "ada@example.com") -> dict[str, Any]:
    response = invoke("register", api_event("register", body={"email": email, "password": PASSWORD, "name": "Ada"}))
    assert response["statusCode"] == 201, response["body"]
    user: dict[str, Any] = json_body(response)
    return user


def send(invoke: Invoke, module: str, raw_body: str, user_id: str | None = None, **headers: str) -> dict[str, Any]:
    event = api_event(module, raw_body=raw_body, user_id=user_id, headers=headers)
    event["headers"].pop("Idempotency-Key", None)
    return invoke(module, event)


def stored_orders(dynamodb: Any, table: str, user_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :orders)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":orders": {"S": "ORDER#"}},
    )["Items"]
    return items


@pytest.mark.parametrize("opening", ["[", '{"a": '], ids=["arrays", "objects"])
@pytest.mark.parametrize(("module", "_"), ROUTES_WITH_A_BODY, ids=[m for m, _ in ROUTES_WITH_A_BODY])
def test_ten_thousand_nested_levels_are_a_400_problem_on_every_route_with_a_body(
    invoke: Invoke, module: str, _: str, opening: str
) -> None:
    response = send(invoke, module, opening * 10_000, user_id="01JDW3Q5Z8M1K7V2N4X6Y9B0CA")

    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert "deeper than 32 levels" in json_body(response)["detail"]


def test_a_five_thousand_digit_quantity_is_a_422_naming_the_field_and_stores_nothing(
    invoke: Invoke, dynamodb: Any, function_env: dict[str, str]
) -> None:
    user = register(invoke)
    body = ORDER_TEXT.replace('"quantity": 2', '"quantity": ' + "7" * 5000, 1)

    response = send(invoke, "create_order", body, user_id=user["id"])

    assert response["statusCode"] == 422
    assert [error["location"] for error in json_body(response)["errors"]] == ["body.items.0.quantity"]
    assert stored_orders(dynamodb, function_env["TABLE_NAME"], user["id"]) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"email": "eve@example.com", "password": "correct horse battery staple", "name": "Eve"}'),
        ("application/x-www-form-urlencoded", "email=eve%40example.com&password=correct+horse+battery+staple&name=Eve"),
        ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="email"\r\n\r\neve\r\n--b--'),
        ("application/xml", "<user><email>eve@example.com</email></user>"),
    ],
    ids=["text", "form", "multipart", "xml"],
)
def test_a_cross_site_form_cannot_register_an_account(
    invoke: Invoke, dynamodb: Any, function_env: dict[str, str], content_type: str, body: str
) -> None:
    response = send(invoke, "register", body, **{"Content-Type": content_type})

    credential = dynamodb.get_item(
        TableName=function_env["TABLE_NAME"],
        Key={"pk": {"S": "EMAIL#eve@example.com"}, "sk": {"S": "CREDENTIAL"}},
        ConsistentRead=True,
    )
    assert response["statusCode"] == 415
    assert json_body(response)["title"] == "Unsupported media type"
    assert "Item" not in credential


def test_a_text_plain_login_spends_no_attempt_of_the_owner(invoke: Invoke) -> None:
    register(invoke)
    wrong = '{"email": "ada@example.com", "password": "not the password"}'

    refused = [send(invoke, "login", wrong, **{"Content-Type": "text/plain"}) for _ in range(6)]
    owner = invoke("login", api_event("login", body={"email": "ada@example.com", "password": PASSWORD}))

    assert [response["statusCode"] for response in refused] == [415] * 6
    assert owner["statusCode"] == 200


def test_a_duplicate_key_is_a_400_and_stores_nothing(
    invoke: Invoke, dynamodb: Any, function_env: dict[str, str]
) -> None:
    user = register(invoke)
    body = ORDER_TEXT.replace('"currency": "EUR"', '"currency": "EUR", "currency": "JPY"')

    response = send(invoke, "create_order", body, user_id=user["id"])

    assert response["statusCode"] == 400
    assert json_body(response)["detail"] == 'the request body repeats the key "currency"'
    assert stored_orders(dynamodb, function_env["TABLE_NAME"], user["id"]) == []
