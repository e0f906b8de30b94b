"""DynamoDB adapters for users and orders: one table, keys designed for every access pattern.

Access patterns, and the key or index that serves each without a Scan:

| pattern                                   | operation | key                                                   |
|-------------------------------------------|-----------|-------------------------------------------------------|
| register: email must be unique            | Transact  | Put `EMAIL#<email>/CREDENTIAL` if absent + user item  |
| login: credential by email                | GetItem   | pk `EMAIL#<email>`, sk `CREDENTIAL`                   |
| login: failed attempts per email (window) | cond. Upd | pk `EMAIL#<email>`, sk `LOGIN_ATTEMPTS` (TTL)         |
| me: user by id                            | GetItem   | pk `USER#<id>`, sk `PROFILE`                          |
| order by id, for its owner only           | GetItem   | pk `USER#<user>`, sk `ORDER#<order>`                  |
| a user's orders, newest first             | Query     | pk `USER#<user>`, sk begins_with `ORDER#`, descending |
| a user's orders in one status, newest 1st | Query GSI | `ByUserStatus`: `USER#<user>#<status>`, `ORDER#<id>`  |
| orders stuck in pending_payment           | Query GSI | `PendingPayments` (sparse): `PENDING`, last dispatch  |
| all customers' orders in one status (ops) | Query GSI | `OrdersByStatus`: `ORDERSTATUS#<status>`, `ORDER#<id>` |
| one order by id, without its user         | Query GSI | `OrderById`: `ORDER#<id>` (operators, refunds)        |
| replay of an Idempotency-Key              | GetItem   | pk `USER#<user>`, sk `IDEMPOTENCY#<key>` (TTL)        |
| one email per (user or order, kind)       | cond. Put | pk `USER#<user>`, sk `SENT_EMAIL#<kind>[#<order>]`    |
| one refund of an order                    | GetItem   | pk `USER#<user>`, sk `REFUND#<order>#<refund>`        |
| replay of a refund's Idempotency-Key      | GetItem   | pk `USER#<user>`, sk `REFUND_KEY#<order>#<key>` (TTL) |
| a product and its stock (sku unique)      | Transact  | Put `PRODUCT#<sku>/PRODUCT` + `/STOCK` if absent      |
| a product with its stock                  | Query     | pk `PRODUCT#<sku>` (both items)                       |
| active products by sku prefix             | Query GSI | `CatalogBySku` (sparse): `CATALOG`, lower-case sku    |
| active products by name prefix            | Query GSI | `CatalogByName` (sparse): `CATALOG`, case-folded name |

Stock lives on its own item beside the product (`shop.adapters.products`): orders decrement it
without writing the catalog indexes, whose one `CATALOG` partition then only takes catalog edits.

The PendingPayments sort key is the order's creation time, moved forward each time the
maintenance sweep dispatches it again (`shop.adapters.order_ledger`). Order ids are ULIDs, so sort keys
order by creation time. Keeping an order under its owner's partition makes ownership a
property of the key: another user's order is simply not found.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import conditional_write
from shop.domain.models import Credential, Order, OrderStatus, User
from shop.errors import Conflict, Unavailable
from shop.service_layer.ports import DynamoKey, IdempotencyKeyTaken, IdempotencyRecord, OrderSlice

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

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


class DynamoUserRepository:
    """Users (`USER#<id>/PROFILE`) and credentials (`EMAIL#<email>/CREDENTIAL`)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, user: User, credential: Credential) -> None:
        profile = to_item({"pk": user_pk(user.id), "sk": "PROFILE", "entity": "user", **user.model_dump(mode="json")})
        lock = to_item(
            {"pk": f"EMAIL#{credential.email}", "sk": "CREDENTIAL", "entity": "credential", **credential.model_dump()}
        )
        try:
            # The email item is the uniqueness lock: both puts succeed together or not at all,
            # so two concurrent registrations of one address leave exactly one user.
            self._client.transact_write_items(
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
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise Conflict("an account with this email already exists") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def get(self, user_id: str) -> User | None:
        item = self._get({"pk": user_pk(user_id), "sk": "PROFILE"})
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
            response = self._client.get_item(TableName=self._table, Key=to_item(key))
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else from_item(item)


class DynamoOrderRepository:
    """Orders (`USER#<user>/ORDER#<id>`) and idempotency keys (`USER#<user>/IDEMPOTENCY#<key>`)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        put_order = {
            "TableName": self._table,
            "Item": order_item(order),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            if idempotency is None:
                self._put_new_order(put_order)
                return
            record = to_item(
                {
                    "pk": user_pk(order.user_id),
                    "sk": f"IDEMPOTENCY#{idempotency.key}",
                    "entity": "idempotency",
                    "order_id": idempotency.order_id,
                    "fingerprint": idempotency.fingerprint,
                    TTL_ATTRIBUTE: idempotency.expires_at,
                }
            )
            self._client.transact_write_items(
                TransactItems=[
                    {"Put": put_order},  # type: ignore[typeddict-item]
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": record,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and idempotency is not None:
                existing = self.idempotency_record(order.user_id, idempotency.key)
                if existing is not None:
                    raise IdempotencyKeyTaken(existing) from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc

    def _put_new_order(self, put_order: dict[str, Any]) -> None:
        # The id is a new ULID of this request, so an item already under it can only be this write
        # itself, applied by an attempt whose answer was lost and then retried by the SDK.
        conditional_write(lambda: self._client.put_item(**put_order), "the order store")

    def get(self, user_id: str, order_id: str) -> Order | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=to_item({"pk": user_pk(user_id), "sk": order_sk(order_id)})
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
        if after is not None:
            query["ExclusiveStartKey"] = after
        try:
            response = self._client.query(**query)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ValidationException" and after is not None:
                raise Conflict("the cursor does not fit this query") from exc
            raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
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
        values = from_item(item)
        return IdempotencyRecord(
            key=key, order_id=values["order_id"], fingerprint=values["fingerprint"], expires_at=values[TTL_ATTRIBUTE]
        )
