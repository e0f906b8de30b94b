"""The catalog routes in-process against moto, with the template's table and indexes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.events import api_event, json_body, load_event

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
ADMIN = "01JDW3Q5Z8M1K7V2N4X6Y9AD00"
# The table comes with the products the sample order orders (BOOK-001 among them): the sample
# product, under a sku of its own, is new.
SKU = "BOOK-003"
SAMPLE = json.loads(load_event("create_product")["body"]) | {"sku": SKU}


def create(invoke: Invoke, **fields: Any) -> dict[str, Any]:
    return invoke("create_product", api_event("create_product", user_id=ADMIN, roles="admin", body=SAMPLE | fields))


def patch(invoke: Invoke, sku: str, body: dict[str, Any], if_match: str | None) -> dict[str, Any]:
    event = api_event("update_product", user_id=ADMIN, roles="admin", body=body, path_parameters={"sku": sku})
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("If-Match", None)
    if if_match is not None:
        event["headers"]["If-Match"] = if_match
    return invoke("update_product", event)


def get(invoke: Invoke, sku: str) -> dict[str, Any]:
    return invoke("get_product", api_event("get_product", path_parameters={"sku": sku}))


def listing(invoke: Invoke, **query: str) -> dict[str, Any]:
    return invoke("list_products", api_event("list_products", query=query))


def test_an_admin_creates_a_product_and_anyone_reads_it_with_its_etag(invoke: Invoke) -> None:
    created = create(invoke)

    read = get(invoke, SKU)

    assert created["statusCode"] == 201 and created["headers"]["ETag"] == '"1"'
    assert created["headers"]["Location"] == f"/products/{SKU}"
    assert read["statusCode"] == 200 and read["headers"]["ETag"] == '"1"'
    assert json_body(read) == json_body(created)
    assert json_body(read)["stock"] == 40


def test_creating_an_existing_sku_is_a_409_and_leaves_the_first_product(invoke: Invoke) -> None:
    create(invoke, name="First")

    again = create(invoke, name="Second", stock=1)

    assert again["statusCode"] == 409
    assert json_body(get(invoke, SKU))["name"] == "First"
    assert json_body(get(invoke, SKU))["stock"] == 40


def test_a_customer_may_not_create_a_product(invoke: Invoke) -> None:
    response = invoke("create_product", api_event("create_product", user_id="someone", roles="customer"))

    assert response["statusCode"] == 403
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert get(invoke, SKU)["statusCode"] == 404


def test_patch_needs_the_current_etag_and_stock_never_goes_below_zero(invoke: Invoke) -> None:
    # Given a product with 40 units at version 1
    create(invoke)

    # When it is patched without, with the current and with a stale ETag, and past its stock
    missing = patch(invoke, SKU, {"price": 1400}, None)
    current = patch(invoke, SKU, {"price": 1400, "stock_delta": -30}, '"1"')
    stale = patch(invoke, SKU, {"price": 1}, '"1"')
    too_many = patch(invoke, SKU, {"stock_delta": -11}, '"2"')
    unknown = patch(invoke, "NOPE", {"price": 1}, '"1"')

    # Then only the current one changed anything, and the stock stayed at or above zero
    assert missing["statusCode"] == 428
    assert current["statusCode"] == 200 and current["headers"]["ETag"] == '"2"'
    assert stale["statusCode"] == 412
    assert too_many["statusCode"] == 409 and "below zero" in json_body(too_many)["detail"]
    assert unknown["statusCode"] == 404
    stored = json_body(get(invoke, SKU))
    assert (stored["price"], stored["stock"], stored["version"]) == (1400, 10, 2)


def test_the_listing_uses_the_catalog_indexes_and_leaves_deactivated_products_out(invoke: Invoke) -> None:
    # Given three products, one of them deactivated
    create(invoke, sku="PEN-1", name="Fountain pen")
    create(invoke, sku="INK-1", name="Pen ink", stock=3)
    create(invoke, sku="CUP-1", name="Cup")
    patch(invoke, "CUP-1", {"active": False}, '"1"')

    # When listing everything, and with q in pages of one
    everything = json_body(listing(invoke))
    first = json_body(listing(invoke, q="PEN", limit="1"))
    second = json_body(listing(invoke, q="PEN", limit="1", cursor=first["next_cursor"]))

    # Then the inactive product is not listed, sku matches come before name matches
    assert [p["sku"] for p in everything["items"]] == ["INK-1", "PEN-1"]
    assert everything["next_cursor"] is None
    assert [p["sku"] for p in first["items"]] == ["PEN-1"]
    assert [(p["sku"], p["stock"]) for p in second["items"]] == [("INK-1", 3)]
    assert get(invoke, "CUP-1")["statusCode"] == 200 and json_body(get(invoke, "CUP-1"))["active"] is False
