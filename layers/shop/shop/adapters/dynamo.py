"""DynamoDB adapters for users and orders: one table, keys designed for every access pattern.

Access patterns, and the key or index that serves each without a Scan:

| pattern                                   | operation | key                                                   |
|-------------------------------------------|-----------|-------------------------------------------------------|
| register: email must be unique            | Transact  | Put `EMAIL#<email>/CREDENTIAL` if absent + user item  |
| login: credential by email                | GetItem   | pk `EMAIL#<email>`, sk `CREDENTIAL`                   |
| login: failures per email and address     | cond. Upd | pk `EMAIL#<email>`, sk `LOGIN_ATTEMPTS#SOURCE#<ip>`   |
| login: pace of failures per email         | Get, Upd  | pk `EMAIL#<email>`, sk `LOGIN_PACE` (TTL)             |
| me: user by id                            | GetItem   | pk `USER#<id>`, sk `PROFILE`                          |
| place an order while its owner exists     | Transact  | Check `USER#<id>/PROFILE` + Put order [+ its key]     |
| order by id, for its owner only           | GetItem   | pk `USER#<user>`, sk `ORDER#<order>`                  |
| a user's orders, newest first             | Query     | pk `USER#<user>`, sk begins_with `ORDER#`, descending |
| a user's orders in one status, newest 1st | Query GSI | `ByUserStatus`: `USER#<user>#<status>`, `ORDER#<id>`  |
| orders stuck in pending_payment           | Query GSI | `PendingPayments` (sparse): `PENDING`, last dispatch  |
| all customers' orders in one status (ops) | Query GSI | `OrdersByStatus`: `ORDERSTATUS#<status>`, `ORDER#<id>` |
| one order by id, without its user         | Query GSI | `OrderById`: `ORDER#<id>` (operators, refunds)        |
| replay of an Idempotency-Key              | Transact  | its failed Put returns `USER#<u>/IDEMPOTENCY#<key>`   |
| one email per (user or order, kind)       | cond. Put | pk `USER#<user>`, sk `SENT_EMAIL#<kind>[#<order>]`    |
| a receipt's user and order                | Query     | pk `USER#<user>`, sk `ORDER#<order>` .. `PROFILE`     |
| one refund of an order                    | GetItem   | pk `USER#<user>`, sk `REFUND#<order>#<refund>`        |
| replay of a refund's Idempotency-Key      | GetItem   | pk `USER#<user>`, sk `REFUND_KEY#<order>#<key>` (TTL) |
| a product and its stock (sku unique)      | Transact  | Put `PRODUCT#<sku>/PRODUCT` + `/STOCK` if absent      |
| a product with its stock                  | Query     | pk `PRODUCT#<sku>` (both items)                       |
| products of an order, price and version   | BatchGet  | pk `PRODUCT#<sku>`, sk `PRODUCT`                      |
| stock of a sku, reserved and released     | Transact  | pk `PRODUCT#<sku>`, sk `STOCK`: cond. decrement / ADD |
| active products by sku prefix             | Query GSI | `CatalogBySku` (sparse): `CATALOG`, lower-case sku    |
| active products by name prefix            | Query GSI | `CatalogByName` (sparse): `CATALOG`, case-folded name |

Each sku has its own partition (`PRODUCT#<sku>`), and its stock an item of its own beside the
product (`shop.adapters.products`): an order writes only the stock items of its skus, so orders of
different skus never contend, and a stock change never writes the catalog indexes, whose one
`CATALOG` partition then only takes catalog edits.

The PendingPayments sort key is the order's creation time, moved forward each time the
maintenance sweep dispatches it again (`shop.adapters.order_ledger`). Order ids are ULIDs, so sort keys
order by creation time. Keeping an order under its owner's partition makes ownership a
property of the key: another user's order is simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import TransactionCancelled, conditional_write, transact_write
from shop.domain.models import Credential, Order, OrderStatus, User
from shop.errors import AccountGone, Conflict, OutOfStock, Shortage, Unavailable
from shop.service_layer.ports import (
    DynamoKey,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    OrderSlice,
    ProductSnapshot,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryOutputTypeDef, TransactWriteItemTypeDef

BY_USER_STATUS_INDEX = "ByUserStatus"
ORDERS_BY_STATUS_INDEX = "OrdersByStatus"
ORDER_BY_ID_INDEX = "OrderById"
PENDING_PAYMENTS_INDEX = "PendingPayments"
PENDING_PARTITION = "PENDING"
TTL_ATTRIBUTE = "expires_at"
CATALOG_BY_SKU_INDEX = "CatalogBySku"
CATALOG_BY_NAME_INDEX = "CatalogByName"
CATALOG_PARTITION = "CATALOG"
PRODUCT_SK = "PRODUCT"
STOCK_SK = "STOCK"
PROFILE_SK = "PROFILE"
# BatchGetItem reads at most 100 keys per call.
_BATCH_GET_KEYS = 100

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def order_sk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def product_pk(sku: str) -> str:
    return f"PRODUCT#{sku}"


def status_partition(user_id: str, status: OrderStatus) -> str:
    return f"USER#{user_id}#{status.value}"


def all_orders_status_partition(status: OrderStatus) -> str:
    return f"ORDERSTATUS#{status.value}"


def status_attributes(status: OrderStatus, *, user_id: str) -> dict[str, str]:
    """Every attribute a write that changes an order's status must SET, `status` included.

    The status is part of two index keys: `gsi1pk` (the owner's orders in one status, ByUserStatus)
    and `gsi3pk` (everyone's orders in one status, OrdersByStatus). A transition that SETs these
    three together keeps both indexes true. (Leaving pending_payment also REMOVEs gsi2pk, gsi2sk.)
    """
    return {
        "status": status.value,
        "gsi1pk": status_partition(user_id, status),
        "gsi3pk": all_orders_status_partition(status),
    }


def to_item(values: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number we store is an integer."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def unavailable(exc: ClientError | BotoCoreError) -> Unavailable:
    return Unavailable("the order store is unavailable")


def account_exists_check(table: str, user_id: str) -> TransactWriteItemTypeDef:
    """The first item of every transaction written on a caller's behalf: the caller's profile must exist.

    A token outlives its account: it is verified by its signature alone, and API Gateway caches
    the authorizer's answer for 300 s. So every write made for a principal is a transaction that
    starts with this ConditionCheck on `USER#<id>/PROFILE`, and a cancellation on it answers
    `AccountGone` (a 401). The check is part of the write,
    so no account deleted between a read and the write can slip through, and it costs no extra
    round trip.
    """
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": to_item({"pk": user_pk(user_id), "sk": PROFILE_SK}),
            "ConditionExpression": "attribute_exists(pk)",
        }
    }


def query_page(client: DynamoDBClient, query: dict[str, Any], after: DynamoKey | None) -> QueryOutputTypeDef:
    """One page of a Query that starts after `after`, a key that came from a client's cursor.

    DynamoDB answers a start key that does not fit the query's table or index with a
    ValidationException: that is the cursor's fault (a 409), not the store's.
    """
    if after is not None:
        query["ExclusiveStartKey"] = after
    try:
        return client.query(**query)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationException" and after is not None:
            raise Conflict("the cursor does not fit this query") from exc
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def order_by_id(client: DynamoDBClient, table_name: str, order_id: str) -> dict[str, Any] | None:
    """The order item with this id, whoever owns it, from the OrderById index (eventually consistent).

    The index is the one way to find an order without its owner; a caller that needs the order as
    last written reads it again by the keys this gives.
    """
    try:
        response = client.query(
            TableName=table_name,
            IndexName=ORDER_BY_ID_INDEX,
            KeyConditionExpression="gsi4pk = :order",
            ExpressionAttributeValues=to_item({":order": order_sk(order_id)}),
        )
    except (ClientError, BotoCoreError) as exc:
        raise unavailable(exc) from exc
    items = response.get("Items", [])
    return from_item(items[0]) if items else None


def order_item(order: Order) -> dict[str, AttributeValueTypeDef]:
    values = order.model_dump(mode="json")
    values["items"] = [item.model_dump() for item in order.items]
    pending = order.status is OrderStatus.PENDING_PAYMENT
    return to_item(
        {
            "pk": user_pk(order.user_id),
            "sk": order_sk(order.id),
            "entity": "order",
            **values,
            **status_attributes(order.status, user_id=order.user_id),
            "gsi1sk": order_sk(order.id),
            # OrdersByStatus shares gsi3pk's partition per status across every customer; OrderById
            # finds the order from its id alone (operators, refunds).
            "gsi3sk": order_sk(order.id),
            "gsi4pk": order_sk(order.id),
            "gsi2pk": PENDING_PARTITION if pending else None,
            "gsi2sk": order.created_at if pending else None,
        }
    )


def order_from_item(item: dict[str, Any]) -> Order:
    return Order.model_validate(from_item(item), strict=False)


def stock_key(sku: str) -> dict[str, AttributeValueTypeDef]:
    return to_item({"pk": product_pk(sku), "sk": STOCK_SK})


def release_stock(table: str, sku: str, quantity: int) -> dict[str, Any]:
    """The transaction item that puts `quantity` units of `sku` back in stock."""
    return {
        "Update": {
            "TableName": table,
            "Key": stock_key(sku),
            "UpdateExpression": "ADD stock :quantity",
            "ExpressionAttributeValues": to_item({":quantity": quantity}),
        }
    }


class DynamoUserRepository:
    """Users (`USER#<id>/PROFILE`) and credentials (`EMAIL#<email>/CREDENTIAL`)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, consistent_reads: bool = False) -> None:
        self._client = client
        self._table = table_name
        # Strongly consistent reads cost twice as much; a reader that must tell a user who is gone
        # from one whose registration it cannot see yet asks for them.
        self._consistent = consistent_reads

    def add(self, user: User, credential: Credential) -> None:
        profile = to_item({"pk": user_pk(user.id), "sk": PROFILE_SK, "entity": "user", **user.model_dump(mode="json")})
        lock = to_item(
            {"pk": f"EMAIL#{credential.email}", "sk": "CREDENTIAL", "entity": "credential", **credential.model_dump()}
        )
        # The email item is the uniqueness lock: both puts succeed together or not at all,
        # so two concurrent registrations of one address leave exactly one user. Only the lock's
        # failed condition means the email is taken; a transaction cancelled by a concurrent
        # write or throttling raises `Contention`, a retryable 503.
        result = transact_write(
            lambda: self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": lock,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": profile,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            ),
            "the user store",
        )
        if isinstance(result, TransactionCancelled):
            if result.failed(0):
                raise Conflict("an account with this email already exists")
            # Only the profile failed: its id is a new ULID, so this registration was applied
            # by an attempt whose answer was lost; a retry of the request finds the email taken.
            raise Unavailable("the registration may have been applied; retry to find out")

    def get(self, user_id: str) -> User | None:
        item = self._get({"pk": user_pk(user_id), "sk": PROFILE_SK})
        return None if item is None else User.model_validate(item)

    def credential_for(self, email: str) -> Credential | None:
        item = self._get({"pk": f"EMAIL#{email}", "sk": "CREDENTIAL"})
        return None if item is None else Credential.model_validate(item)

    def replace_password_hash(self, credential: Credential, new_hash: str) -> None:
        conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": f"EMAIL#{credential.email}", "sk": "CREDENTIAL"}),
                UpdateExpression="SET password_hash = :new",
                # Only replace the hash we verified: a password change in between must win.
                ConditionExpression="password_hash = :old",
                ExpressionAttributeValues=to_item({":new": new_hash, ":old": credential.password_hash}),
            ),
            "the user store",
        )

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=self._consistent)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else from_item(item)


class DynamoOrderRepository:
    """Orders (`USER#<user>/ORDER#<id>`) and idempotency keys (`USER#<user>/IDEMPOTENCY#<key>`)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, order: Order, idempotency: IdempotencyRecord | None, products: Mapping[str, ProductSnapshot]) -> None:
        # One transaction: the order is stored only while its owner's account exists (see
        # `account_exists_check`), together with its idempotency record and each line's units.
        items: list[dict[str, Any]] = [
            dict(account_exists_check(self._table, order.user_id)),
            {
                "Put": {
                    "TableName": self._table,
                    "Item": order_item(order),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if idempotency is not None:
            items.append(self._put_idempotency_record(order.user_id, idempotency))
        lines_at = len(items)
        for line in order.items:
            items.append(self._take_stock(line.sku, line.quantity))
            items.append(self._product_unchanged(products[line.sku]))
        result = self._transact(items)
        if not isinstance(result, TransactionCancelled):
            return
        if result.failed(0):
            raise AccountGone("the account this token was issued for no longer exists")
        if idempotency is not None and result.failed(2):
            stored = result.items[2]
            if stored is None:
                raise Unavailable("the order store did not return the stored idempotency record")
            raise IdempotencyKeyTaken(_idempotency_record(idempotency.key, from_item(stored)))
        if result.failed(1):
            # The id is a new ULID of this request, so an order already under it can only be this
            # write itself, applied by an attempt whose answer was lost and then retried by the SDK.
            return
        shortages = []
        for index, line in enumerate(order.items):
            at = lines_at + 2 * index
            if result.failed(at):
                stock = result.items[at]
                available = 0 if stock is None else int(from_item(stock).get("stock", 0))
                shortages.append(Shortage(sku=line.sku, requested=line.quantity, available=available))
        if shortages:
            raise OutOfStock(shortages)
        changed = [line.sku for index, line in enumerate(order.items) if result.failed(lines_at + 2 * index + 1)]
        raise Conflict(f"the catalog changed while the order was placed ({', '.join(changed)}); place it again")

    def _transact(self, items: list[dict[str, Any]]) -> TransactionCancelled | None:
        result = transact_write(
            lambda: self._client.transact_write_items(TransactItems=items),  # type: ignore[arg-type]
            "the order store",
        )
        return result if isinstance(result, TransactionCancelled) else None

    def _put_idempotency_record(self, user_id: str, idempotency: IdempotencyRecord) -> dict[str, Any]:
        record = to_item(
            {
                "pk": user_pk(user_id),
                "sk": f"IDEMPOTENCY#{idempotency.key}",
                "entity": "idempotency",
                "order_id": idempotency.order_id,
                "fingerprint": idempotency.fingerprint,
                TTL_ATTRIBUTE: idempotency.expires_at,
            }
        )
        return {
            "Put": {
                "TableName": self._table,
                "Item": record,
                "ConditionExpression": "attribute_not_exists(pk)",
                # The record that an earlier request stored comes back in the cancellation, so a
                # replay needs no second read to learn which order the key made.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _take_stock(self, sku: str, quantity: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": stock_key(sku),
                "UpdateExpression": "SET stock = stock - :quantity",
                # Never below zero: of two orders for the last unit, one transaction fails here.
                "ConditionExpression": "stock >= :quantity",
                "ExpressionAttributeValues": to_item({":quantity": quantity}),
                # The stock as it was tells the 409 how many units are short.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _product_unchanged(self, product: ProductSnapshot) -> dict[str, Any]:
        # Every change of a product raises its version, so the snapshot's name and price are the
        # product's current ones exactly when the version is still the one read.
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"pk": product_pk(product.sku), "sk": PRODUCT_SK}),
                "ConditionExpression": "#version = :version AND active = :active AND price = :price",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item(
                    {":version": product.version, ":active": True, ":price": product.price}
                ),
            }
        }

    def get(self, user_id: str, order_id: str, *, consistent: bool = False) -> Order | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": user_pk(user_id), "sk": order_sk(order_id)}),
                ConsistentRead=consistent,
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else order_from_item(item)

    def list(self, user_id: str, *, status: OrderStatus | None, limit: int, after: DynamoKey | None) -> OrderSlice:
        query: dict[str, Any] = {"TableName": self._table, "Limit": limit, "ScanIndexForward": False}
        if status is None:
            query["KeyConditionExpression"] = "pk = :pk AND begins_with(sk, :prefix)"
            query["ExpressionAttributeValues"] = to_item({":pk": user_pk(user_id), ":prefix": "ORDER#"})
        else:
            query["IndexName"] = BY_USER_STATUS_INDEX
            query["KeyConditionExpression"] = "gsi1pk = :pk"
            query["ExpressionAttributeValues"] = to_item({":pk": status_partition(user_id, status)})
        response = query_page(self._client, query, after)
        orders = [order_from_item(item) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return OrderSlice(orders=orders, last_key=None if last_key is None else dict(last_key))  # type: ignore[arg-type]

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key=to_item({"pk": user_pk(user_id), "sk": f"IDEMPOTENCY#{key}"}),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        if item is None:
            return None
        return _idempotency_record(key, from_item(item))


def _idempotency_record(key: str, values: dict[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key, order_id=values["order_id"], fingerprint=values["fingerprint"], expires_at=values[TTL_ATTRIBUTE]
    )


class DynamoProductCatalog:
    """Products (`PRODUCT#<sku>/PRODUCT`) as orders read them: name, price, currency, active, version."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def snapshots(self, skus: Sequence[str]) -> dict[str, ProductSnapshot]:
        found: dict[str, ProductSnapshot] = {}
        keys = [to_item({"pk": product_pk(sku), "sk": PRODUCT_SK}) for sku in dict.fromkeys(skus)]
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": keys[start : start + _BATCH_GET_KEYS],
                    # Consistent: a product changed a moment ago would fail the order's version check.
                    "ConsistentRead": True,
                    "ProjectionExpression": "sku, #name, price, currency, active, #version",
                    "ExpressionAttributeNames": {"#name": "name", "#version": "version"},
                }
            }
            while pending:
                try:
                    response = self._client.batch_get_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise unavailable(exc) from exc
                for item in response.get("Responses", {}).get(self._table, []):
                    product = ProductSnapshot(**from_item(item))
                    found[product.sku] = product
                # Keys DynamoDB did not get to (throttling, size) come back to ask again.
                pending = dict(response.get("UnprocessedKeys") or {})
        return found
