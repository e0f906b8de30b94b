"""The catalog in DynamoDB: a product and its stock as two items of one partition per sku.

- `PRODUCT#<sku>/PRODUCT`: the product. While it is active it carries `catalog_pk = CATALOG`, which
  puts it in the sparse `CatalogBySku` (sort key `catalog_sku`, the sku in lower case) and
  `CatalogByName` (sort key `catalog_name`, the case-folded name) indexes; deactivating removes
  `catalog_pk`, and with it the product from both.
- `PRODUCT#<sku>/STOCK`: the units on hand. Orders change it with conditional decrements and never
  touch the product item, so a sale writes no catalog index and one index partition is enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import failed_conditions
from shop.adapters.dynamo import (
    CATALOG_BY_NAME_INDEX,
    CATALOG_BY_SKU_INDEX,
    CATALOG_PARTITION,
    PRODUCT_SK,
    STOCK_SK,
    from_item,
    product_pk,
    query_page,
    to_item,
    unavailable,
)
from shop.domain.clock import isoformat
from shop.domain.models import Product, ProductView, search_key
from shop.errors import Conflict, NotFound, PreconditionFailed
from shop.service_layer.ports import CatalogIndex, DynamoKey, ProductChanges, ProductSlice

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_INDEXES: dict[CatalogIndex, tuple[str, str]] = {
    "sku": (CATALOG_BY_SKU_INDEX, "catalog_sku"),
    "name": (CATALOG_BY_NAME_INDEX, "catalog_name"),
}
# BatchGetItem takes at most 100 keys per call.
_BATCH_LIMIT = 100


def _index_attributes(fields: Mapping[str, object]) -> dict[str, object]:
    """The index attributes that the given product fields imply; None means REMOVE."""
    implied: dict[str, object] = {}
    if "name" in fields:
        implied["catalog_name"] = search_key(str(fields["name"]))
    if "active" in fields:
        implied["catalog_pk"] = CATALOG_PARTITION if fields["active"] else None
    return implied


class DynamoProductRepository:
    """Products and their stock, one partition per sku."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, product: Product, stock: int) -> None:
        attributes = {
            "pk": product_pk(product.sku),
            "sk": PRODUCT_SK,
            "entity": "product",
            **product.model_dump(mode="json"),
            "catalog_sku": search_key(product.sku),
            **_index_attributes({"name": product.name, "active": product.active}),
        }
        stock_item = {"pk": product_pk(product.sku), "sk": STOCK_SK, "entity": "stock", "sku": product.sku}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self._table, "Item": to_item(attributes), "ConditionExpression": _ABSENT}},
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item({**stock_item, "stock": stock}),
                            "ConditionExpression": _ABSENT,
                        }
                    },
                ]
            )
        except ClientError as exc:
            if failed_conditions(exc):
                raise Conflict(f"a product with sku {product.sku} already exists") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def get(self, sku: str, *, consistent: bool = False) -> ProductView | None:
        try:
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_item({":pk": product_pk(sku)}),
                ConsistentRead=consistent,
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        items = {values["sk"]: values for values in map(from_item, response.get("Items", []))}
        if PRODUCT_SK not in items or STOCK_SK not in items:
            return None
        return ProductView.model_validate({**items[PRODUCT_SK], "stock": items[STOCK_SK]["stock"]})

    def update(self, sku: str, expected_version: int, changes: ProductChanges, at: datetime) -> ProductView:
        sets = {
            **changes.fields,
            **_index_attributes(changes.fields),
            "version": expected_version + 1,
            "updated_at": isoformat(at),
        }
        assigned = {name: value for name, value in sets.items() if value is not None}
        removed = [name for name, value in sets.items() if value is None]
        names = {f"#{name}": name for name in sets}
        values: dict[str, Any] = {f":{name}": value for name, value in assigned.items()}
        values[":expected"] = expected_version
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in assigned)
        if removed:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in removed)
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"pk": product_pk(sku), "sk": PRODUCT_SK}),
                    "UpdateExpression": expression,
                    "ConditionExpression": "#version = :expected",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": to_item(values),
                }
            }
        ]
        if changes.stock_delta is not None:
            items.append(self._stock_change(sku, changes.stock_delta))
        try:
            # One transaction: the version check guards the stock change too, and a delta that
            # would take the stock below zero leaves the product unchanged.
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            failed = failed_conditions(exc)
            if not failed:
                raise unavailable(exc) from exc
            raise self._why_refused(sku, expected_version, changes, failed) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        stored = self.get(sku, consistent=True)
        if stored is None:
            raise NotFound(f"product {sku} was not found")
        return stored

    def _stock_change(self, sku: str, delta: int) -> dict[str, Any]:
        # `stock >= :floor` is DynamoDB's check of the value before the update: with the floor at
        # -delta the new value cannot be negative, however many adjustments and orders race.
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": product_pk(sku), "sk": STOCK_SK}),
                "UpdateExpression": "SET stock = stock + :delta",
                "ConditionExpression": "stock >= :floor",
                "ExpressionAttributeValues": to_item({":delta": delta, ":floor": max(0, -delta)}),
            }
        }

    def _why_refused(
        self, sku: str, expected_version: int, changes: ProductChanges, failed: list[int]
    ) -> NotFound | PreconditionFailed | Conflict:
        stored = self.get(sku, consistent=True)
        if stored is None:
            return NotFound(f"product {sku} was not found")
        if 0 in failed or stored.version != expected_version:
            return PreconditionFailed(
                f"product {sku} is at version {stored.version}, not {expected_version}: read it again"
            )
        return Conflict(
            f"product {sku} has {stored.stock} units; a change of {changes.stock_delta} would take it below zero"
        )

    def page(self, index: CatalogIndex, prefix: str | None, limit: int, after: DynamoKey | None) -> ProductSlice:
        index_name, sort_key = _INDEXES[index]
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index_name,
            "Limit": limit,
            "KeyConditionExpression": "catalog_pk = :catalog",
        }
        values: dict[str, str] = {":catalog": CATALOG_PARTITION}
        if prefix is not None:
            query["KeyConditionExpression"] += f" AND begins_with({sort_key}, :prefix)"
            values[":prefix"] = prefix
        query["ExpressionAttributeValues"] = to_item(values)
        response = query_page(self._client, query, after)
        products = [Product.model_validate(from_item(item)) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return ProductSlice(products=products, last_key=None if last_key is None else dict(last_key))  # type: ignore[arg-type]

    def stock_of(self, skus: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(skus), _BATCH_LIMIT):
            keys = [to_item({"pk": product_pk(sku), "sk": STOCK_SK}) for sku in skus[start : start + _BATCH_LIMIT]]
            request: dict[str, Any] = {
                self._table: {"Keys": keys, "ProjectionExpression": "sku, stock", "ConsistentRead": True}
            }
            # Consistent: the index listed the product, so its stock item (written in the same
            # transaction) exists, and an eventually consistent read must not miss it.
            # BatchGetItem may leave keys unprocessed under load; they are asked for again.
            while request:
                try:
                    response = self._client.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise unavailable(exc) from exc
                for item in response.get("Responses", {}).get(self._table, []):
                    values = from_item(item)
                    found[values["sku"]] = values["stock"]
                request = dict(response.get("UnprocessedKeys") or {})
        return found


_ABSENT = "attribute_not_exists(pk)"
