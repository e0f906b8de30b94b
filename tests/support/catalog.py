"""Products written straight into the table, as the catalog stores them, for tests that place orders.

The sample event `events/create_order.json` orders BOOK-001 and PEN-042. The README walk-through
creates its own products (ENGINE-1, QUILL-1) through the API, as an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from shop.adapters.dynamo import PRODUCT_SK, STOCK_SK, from_item, product_pk, to_item

_BATCH_WRITE_ITEMS = 25


@dataclass(frozen=True)
class SeedProduct:
    sku: str
    name: str
    price: int
    stock: int = 1000
    currency: str = "EUR"


SAMPLE_PRODUCTS = (SeedProduct("BOOK-001", "Dune (paperback)", 1250), SeedProduct("PEN-042", "Fountain pen", 300))
# What the e2e tests and the benchmarks order, with stock for every run.
E2E_PRODUCTS = (
    *SAMPLE_PRODUCTS,
    SeedProduct("BOOK-1", "Dune (paperback)", 1250, stock=1_000_000),
    SeedProduct("PEN-1", "Fountain pen", 300),
    SeedProduct("BOOK-2", "Children of Dune", 1400),
)


def seed_products(dynamodb: Any, table: str, products: tuple[SeedProduct, ...] = SAMPLE_PRODUCTS) -> None:
    """Write each product's catalog item and stock item."""
    stamp = "2026-11-26T12:00:00.000Z"
    items = []
    for product in products:
        catalog_entry = {
            "pk": product_pk(product.sku),
            "sk": PRODUCT_SK,
            "entity": "product",
            "sku": product.sku,
            "name": product.name,
            "description": f"{product.name}, for tests",
            "price": product.price,
            "currency": product.currency,
            "active": True,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
        }
        stock = {"pk": product_pk(product.sku), "sk": STOCK_SK, "entity": "stock", "sku": product.sku}
        items += [to_item(catalog_entry), to_item({**stock, "stock": product.stock})]
    for start in range(0, len(items), _BATCH_WRITE_ITEMS):
        pending = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE_ITEMS]]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def stock_of(dynamodb: Any, table: str, sku: str) -> int:
    item = dynamodb.get_item(TableName=table, Key=to_item({"pk": product_pk(sku), "sk": STOCK_SK}), ConsistentRead=True)
    return int(from_item(item["Item"])["stock"])


def seed_local_cloud(aws_url: str, products: tuple[SeedProduct, ...]) -> None:
    """Seed the products into the shop table of a running local cloud (its emulator at `aws_url`)."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=aws_url,
        region_name="us-east-1",
        aws_access_key_id="localcloud",
        aws_secret_access_key="localcloud",
    )
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if "ShopTable" in name]
    seed_products(dynamodb, table, products)
