"""What the OpenAPI document calls valid, the API accepts, and the reverse: regressions of schemathesis findings.

The document is checked with jsonschema_rs, schemathesis' own validator, whose patterns follow
ECMA-262 as JSON Schema says (Python's `re`, which the jsonschema package uses, lets `$` match
before a final newline).
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shop.domain.models import CreateOrderRequest, IdempotencyKey, LoginRequest
from shop.entrypoints.openapi import build_document
from shop.entrypoints.routes import CREATE_ORDER

ORDER: dict[str, Any] = {
    "items": [{"sku": "A-1", "quantity": 1}],
    "currency": "EUR",
    "payment_method": "pm_card_visa",
}


def document_accepts(schema_name: str, value: Any) -> bool:
    document = build_document("/dev")
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return bool(jsonschema_rs.validator_for(root).is_valid(value))


def api_accepts(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com",
        "ADA@Example.COM",
        "",
        "ada@example",
        "ada@example.com\n",
        " ada@example.com",
        "ada@@example.com",
        "a" * 243 + "@example.com",
        "a" * 244 + "@example.com",
    ],
)
def test_an_email_is_valid_in_the_document_exactly_when_the_api_accepts_it(email: str) -> None:
    body = {"email": email, "password": "x"}

    assert document_accepts("LoginRequest", body) is api_accepts(LoginRequest, body)


@pytest.mark.parametrize(("quantity", "accepted"), [(2, True), (2.0, True), (2.5, False), ("2", False), (True, False)])
def test_a_whole_number_written_as_a_float_is_an_integer_to_both(quantity: Any, accepted: bool) -> None:
    body = ORDER | {"items": [{"sku": "A-1", "quantity": quantity}]}

    assert document_accepts("CreateOrderRequest", body) is accepted
    assert api_accepts(CreateOrderRequest, body) is accepted


@pytest.mark.parametrize(
    ("key", "accepted"),
    [("k", True), ("x" * 255, True), ("x" * 256, False), ("", False), ("with space", False), ("ключ", False)],
)
def test_the_idempotency_key_header_is_documented_as_the_api_checks_it(key: str, accepted: bool) -> None:
    parameter = next(p for p in build_document("/dev")["paths"]["/orders"]["post"]["parameters"] if p["in"] == "header")
    adapter: TypeAdapter[str] = TypeAdapter(IdempotencyKey)

    try:
        adapter.validate_python(key)
        api_valid = True
    except ValidationError:
        api_valid = False

    assert parameter["name"] == CREATE_ORDER.headers[0].name
    assert jsonschema_rs.validator_for(parameter["schema"]).is_valid(key) is accepted
    assert api_valid is accepted
