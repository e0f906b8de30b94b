"""The DynamoDB adapter of the RefundLedger port: refunds, their keys, and the order's refund counters.

Items, all in the order owner's partition:
- the order (`USER#<user>/ORDER#<order>`) carries `refund_reserved` (pending and succeeded
  refunds) and `refunded_amount` (succeeded ones);
- each refund is `USER#<user>/REFUND#<order>#<refund>`, `status` pending -> succeeded | failed;
- each refund Idempotency-Key is `USER#<user>/REFUND_KEY#<order>#<key>`, with a TTL.

A request is one transaction: the order's reservation, conditional on the order being
refundable and on `refund_reserved <= total - amount` (DynamoDB conditions cannot add, so the
room is computed from the total, which never changes once an order is paid, and the condition
also pins `total`), plus the refund and its key, each put only if absent. Settling a refund is
one transaction too, conditional on the refund still being pending, so a redelivered job or a
second worker settles nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.dynamo import (
    TTL_ATTRIBUTE,
    from_item,
    order_by_id,
    order_sk,
    status_attributes,
    to_item,
    unavailable,
    user_pk,
)
from shop.domain.clock import isoformat
from shop.domain.models import Order, OrderStatus, Refund, RefundStatus
from shop.errors import Unavailable
from shop.service_layer.ports import (
    Refunded,
    RefundIdempotencyRecord,
    RefundKeyTaken,
    RefundNotReserved,
    RefundRefused,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_CONDITION_FAILED = "ConditionalCheckFailed"
# Settling a refund re-reads the order and tries again when another refund of it settled in
# between; more refunds of one order than this settling at the same instant is not a real load.
_SETTLE_ATTEMPTS = 8
_REFUNDABLE = "#status IN (:paid, :partially_refunded)"


def refund_sk(order_id: str, refund_id: str) -> str:
    return f"REFUND#{order_id}#{refund_id}"


def refund_key_sk(order_id: str, key: str) -> str:
    return f"REFUND_KEY#{order_id}#{key}"


class DynamoRefundLedger:
    """Refunds under their order's owner; every change conditional on the refund's or the order's state."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def find_order(self, order_id: str) -> Order | None:
        indexed = order_by_id(self._client, self._table, order_id)
        if indexed is None:
            return None
        # The index is eventually consistent: the order is read again, consistently, so its status
        # and payment are as last written.
        return self._order(indexed["user_id"], order_id)

    def reserve(self, order: Order, refund: Refund, record: RefundIdempotencyRecord) -> None:
        room = order.total - refund.amount
        if room < 0:
            raise RefundNotReserved(order)
        key_item = {
            "pk": user_pk(order.user_id),
            "sk": refund_key_sk(order.id, record.key),
            "entity": "refund_key",
            "refund_id": record.refund_id,
            "fingerprint": record.fingerprint,
            TTL_ATTRIBUTE: record.expires_at,
        }
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _order_key(order.user_id, order.id),
                    "UpdateExpression": "SET refund_reserved = if_not_exists(refund_reserved, :zero) + :amount",
                    "ConditionExpression": f"{_REFUNDABLE} AND #total = :total AND "
                    "(attribute_not_exists(refund_reserved) OR refund_reserved <= :room)",
                    "ExpressionAttributeNames": {"#status": "status", "#total": "total"},
                    "ExpressionAttributeValues": to_item(
                        {
                            **_refundable_values(),
                            ":zero": 0,
                            ":amount": refund.amount,
                            ":total": order.total,
                            ":room": room,
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _refund_item(refund),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(key_item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        reasons = self._transact(items)
        if reasons is None:
            return
        if reasons[2] == _CONDITION_FAILED:
            taken = self.idempotency_record(order.user_id, order.id, record.key)
            if taken is not None:
                raise RefundKeyTaken(taken)
        if reasons[0] == _CONDITION_FAILED:
            raise RefundNotReserved(self._order(order.user_id, order.id))
        raise Unavailable("the refund store is busy with this order; retry")

    def get(self, user_id: str, order_id: str, refund_id: str) -> Refund | None:
        item = self._get(user_id, refund_sk(order_id, refund_id))
        return None if item is None else Refund.model_validate(item)

    def idempotency_record(self, user_id: str, order_id: str, key: str) -> RefundIdempotencyRecord | None:
        item = self._get(user_id, refund_key_sk(order_id, key))
        if item is None:
            return None
        return RefundIdempotencyRecord(
            key=key, refund_id=item["refund_id"], fingerprint=item["fingerprint"], expires_at=item[TTL_ATTRIBUTE]
        )

    def get_with_order(self, user_id: str, order_id: str, refund_id: str) -> tuple[Refund, Order] | None:
        keys = [to_item({"pk": user_pk(user_id), "sk": refund_sk(order_id, refund_id)}), _order_key(user_id, order_id)]
        try:
            # One partition, one consistent BatchGetItem: the worker needs the refund and the
            # order's refunded amount, as last written.
            response = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        if response.get("UnprocessedKeys"):
            raise Unavailable("the refund store did not read the refund and its order; retry")
        items = [from_item(item) for item in response.get("Responses", {}).get(self._table, [])]
        refund = next((Refund.model_validate(item) for item in items if item["sk"].startswith("REFUND#")), None)
        order = next(
            (Order.model_validate(item, strict=False) for item in items if item["sk"].startswith("ORDER#")), None
        )
        return None if refund is None or order is None else (refund, order)

    def complete(self, refund: Refund, order: Order, outcome: Refunded, at: datetime) -> Refund:
        stamp = isoformat(at)
        current: Order | None = order
        for _ in range(_SETTLE_ATTEMPTS):
            if current is None:
                raise Unavailable(f"order {refund.order_id} vanished while its refund was settled")
            order = current
            before = order.refunded_amount
            after = before + refund.amount
            status = OrderStatus.REFUNDED if after >= order.total else OrderStatus.PARTIALLY_REFUNDED
            transition = status_attributes(status, user_id=refund.user_id)
            settled = refund.model_copy(
                update={
                    "status": RefundStatus.SUCCEEDED,
                    "provider_refund_id": outcome.provider_refund_id,
                    "order_status": status,
                    "updated_at": stamp,
                }
            )
            reasons = self._transact(
                [
                    self._settle_refund(
                        settled,
                        "provider_refund_id = :provider, order_status = :order_status",
                        {
                            ":provider": outcome.provider_refund_id,
                            ":order_status": status.value,
                        },
                    ),
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _order_key(refund.user_id, refund.order_id),
                            # The status moves the order to its partitions of ByUserStatus and
                            # OrdersByStatus in the same write.
                            "UpdateExpression": "SET refunded_amount = :after, #status = :order_status, "
                            "updated_at = :now, gsi1pk = :gsi1pk, gsi3pk = :gsi3pk",
                            # Pinned to the amount read: a refund of the same order settled in
                            # between fails this, and the loop reads again.
                            "ConditionExpression": f"{_REFUNDABLE} AND "
                            "(attribute_not_exists(refunded_amount) OR refunded_amount = :before)",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_item(
                                {
                                    **_refundable_values(),
                                    ":after": after,
                                    ":before": before,
                                    ":order_status": transition["status"],
                                    ":now": stamp,
                                    ":gsi1pk": transition["gsi1pk"],
                                    ":gsi3pk": transition["gsi3pk"],
                                }
                            ),
                        }
                    },
                ]
            )
            if reasons is None:
                return settled
            if reasons[0] == _CONDITION_FAILED:
                return self._stored(refund)
            current = self._order(refund.user_id, refund.order_id)
        raise Unavailable(f"refund {refund.id} could not be settled against concurrent refunds of its order")

    def release(self, refund: Refund, outcome: RefundRefused, at: datetime) -> Refund:
        settled = refund.model_copy(
            update={"status": RefundStatus.FAILED, "failure_code": outcome.code, "updated_at": isoformat(at)}
        )
        reasons = self._transact(
            [
                self._settle_refund(settled, "failure_code = :code", {":code": outcome.code}),
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _order_key(refund.user_id, refund.order_id),
                        "UpdateExpression": "SET refund_reserved = refund_reserved - :amount",
                        "ConditionExpression": "refund_reserved >= :amount",
                        "ExpressionAttributeValues": to_item({":amount": refund.amount}),
                    }
                },
            ]
        )
        if reasons is None:
            return settled
        if reasons[0] == _CONDITION_FAILED:
            return self._stored(refund)
        raise Unavailable(f"refund {refund.id} could not be released; retry")

    def _settle_refund(self, settled: Refund, assignments: str, values: dict[str, Any]) -> TransactWriteItemTypeDef:
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"pk": user_pk(settled.user_id), "sk": refund_sk(settled.order_id, settled.id)}),
                "UpdateExpression": f"SET #status = :status, updated_at = :updated, {assignments}",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(
                    {
                        **values,
                        ":status": settled.status.value,
                        ":updated": settled.updated_at,
                        ":pending": RefundStatus.PENDING.value,
                    }
                ),
            }
        }

    def _stored(self, refund: Refund) -> Refund:
        stored = self.get(refund.user_id, refund.order_id, refund.id)
        if stored is None:
            raise Unavailable(f"refund {refund.id} vanished while being settled")
        return stored

    def _transact(self, items: list[TransactWriteItemTypeDef]) -> list[str] | None:
        """Run the transaction; None when it committed, else each item's cancellation reason code."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise unavailable(exc) from exc
            reasons = exc.response.get("CancellationReasons", [])
            return [str(reason.get("Code", "None")) for reason in reasons] + ["None"] * (len(items) - len(reasons))
        except BotoCoreError as exc:
            raise unavailable(exc) from exc
        return None

    def _order(self, user_id: str, order_id: str) -> Order | None:
        item = self._get(user_id, order_sk(order_id))
        return None if item is None else Order.model_validate(item, strict=False)

    def _get(self, user_id: str, sort_key: str) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(
                TableName=self._table, Key=to_item({"pk": user_pk(user_id), "sk": sort_key}), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else from_item(item)


def _order_key(user_id: str, order_id: str) -> dict[str, Any]:
    return to_item({"pk": user_pk(user_id), "sk": order_sk(order_id)})


def _refund_item(refund: Refund) -> dict[str, Any]:
    return to_item(
        {
            "pk": user_pk(refund.user_id),
            "sk": refund_sk(refund.order_id, refund.id),
            "entity": "refund",
            **refund.model_dump(mode="json"),
        }
    )


def _refundable_values() -> dict[str, str]:
    return {":paid": OrderStatus.PAID.value, ":partially_refunded": OrderStatus.PARTIALLY_REFUNDED.value}
