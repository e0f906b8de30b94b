"""The catalog, the roles and the operator views over HTTP, through the local gateway and its authorizer."""

from __future__ import annotations

import uuid

from tests.e2e.test_shop_over_http import call, order_body
from tests.support.accounts import admin_token, registered, token_of
from tests.support.cloud import RunningCloud

TABLE_NAME = "shop-e2e-ShopTable"


def test_an_admin_runs_the_catalog_and_customers_only_read_it(cloud: RunningCloud) -> None:
    # Given an admin made by the first-admin command, and a customer
    admin = admin_token(cloud, TABLE_NAME)
    customer = token_of(cloud, registered(cloud, "customer"))
    sku = f"E2E-{uuid.uuid4().hex[:8]}"
    product = {"sku": sku, "name": "End to end", "price": 990, "currency": "EUR", "stock": 3}

    # When the customer tries to add it, the admin adds it and changes it, and anyone reads it
    refused = call(cloud, "POST", "/products", product, token=customer)
    created = call(cloud, "POST", "/products", product, token=admin)
    stale = call(cloud, "PATCH", f"/products/{sku}", {"price": 1}, token=admin, If_Match='"7"')
    changed = call(cloud, "PATCH", f"/products/{sku}", {"stock_delta": -3}, token=admin, If_Match='"1"')
    public = call(cloud, "GET", f"/products/{sku}")
    listed = call(cloud, "GET", f"/products?q={sku.lower()}")

    # Then only the admin's writes count, and the public sees the result without a token
    assert refused[0] == 403 and refused[2]["status"] == 403
    assert created[0] == 201 and created[1]["ETag"] == '"1"'
    assert stale[0] == 412
    assert changed[0] == 200 and changed[2]["stock"] == 0 and changed[1]["ETag"] == '"2"'
    assert public[0] == 200 and public[1]["ETag"] == '"2"' and public[2]["price"] == 990
    assert [item["sku"] for item in listed[2]["items"]] == [sku]


def test_staff_see_a_customers_order_that_other_customers_cannot(cloud: RunningCloud) -> None:
    # Given a customer's order, another customer, and an admin
    owner = token_of(cloud, registered(cloud, "owner"))
    stranger = token_of(cloud, registered(cloud, "stranger"))
    admin = admin_token(cloud, TABLE_NAME)
    status, _, order = call(cloud, "POST", "/orders", order_body(), token=owner)
    assert status == 201

    # When each asks for it
    by_stranger = call(cloud, "GET", f"/orders/{order['id']}", token=stranger)
    stranger_as_operator = call(cloud, "GET", f"/admin/orders/{order['id']}", token=stranger)
    by_admin = call(cloud, "GET", f"/admin/orders/{order['id']}", token=admin)

    # Then the stranger is told it does not exist, or that the operator view is not theirs
    assert by_stranger[0] == 404
    assert stranger_as_operator[0] == 403
    assert by_admin[0] == 200 and by_admin[2]["id"] == order["id"]
