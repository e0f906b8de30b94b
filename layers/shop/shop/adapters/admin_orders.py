"""Operators' view of every customer's orders: the OrdersByStatus and OrderById indexes, and review decisions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shop.adapters.conditional_writes import ConditionNotMet, TransactionCancelled, conditional_write, transact_write
from shop.adapters.dynamo import (
    ORDERS_BY_STATUS_INDEX,
    PENDING_PARTITION,
    all_orders_status_partition,
    from_item,
    order_by_id,
    order_sk,
    query_page,
    release_stock,
    status_attributes,
    to_item,
    user_pk,
)
from shop.domain.clock import isoformat
from shop.domain.models import AdminOrderView, OrderStatus
from shop.service_layer.ports import AdminOrderSlice, DynamoKey, ReviewDecision

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What hold_for_review (shop.adapters.order_ledger) leaves: pending, a reason, no decision yet.
_HELD = "#status = :pending AND attribute_exists(review_reason) AND attribute_not_exists(review_decision)"
# The failure code of an order an operator failed, so that it reads apart from a provider's decline.
OPERATOR_FAILURE_CODE = "failed_by_operator"


def _view(item: dict[str, Any]) -> AdminOrderView:
    return AdminOrderView.model_validate(from_item(item), strict=False)


class DynamoAdminOrders:
    """Orders across customers, read through their indexes; review decisions as conditional updates."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def by_status(self, status: OrderStatus, *, limit: int, after: DynamoKey | None) -> AdminOrderSlice:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ORDERS_BY_STATUS_INDEX,
            "KeyConditionExpression": "gsi3pk = :status",
            "ExpressionAttributeValues": to_item({":status": all_orders_status_partition(status)}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        response = query_page(self._client, query, after)
        last_key = response.get("LastEvaluatedKey")
        return AdminOrderSlice(
            orders=[_view(item) for item in response.get("Items", [])],
            last_key=None if last_key is None else dict(last_key),  # type: ignore[arg-type]
        )

    def find(self, order_id: str) -> AdminOrderView | None:
        item = order_by_id(self._client, self._table, order_id)
        return None if item is None else AdminOrderView.model_validate(item, strict=False)

    def resolve(self, order: AdminOrderView, decision: ReviewDecision, by: str, at: datetime) -> AdminOrderView | None:
        stamp = isoformat(at)
        values: dict[str, Any] = {
            ":decision": decision,
            ":by": by,
            ":now": stamp,
            ":pending": OrderStatus.PENDING_PAYMENT.value,
        }
        if decision == "retry":
            # Back in PendingPayments, so the reconciler re-sends the job if this one is lost; the
            # charge attempt time is cleared, so the provider's idempotency window starts again.
            values[":partition"] = PENDING_PARTITION
            result = conditional_write(
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key=_key(order),
                    UpdateExpression=(
                        "SET review_decision = :decision, reviewed_by = :by, updated_at = :now, "
                        "gsi2pk = :partition, gsi2sk = :now REMOVE charge_attempted_at"
                    ),
                    ConditionExpression=_HELD,
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=to_item(values),
                    ReturnValues="ALL_NEW",
                ),
                "the order store",
            )
            if isinstance(result, ConditionNotMet):
                return None
            return _view(dict(result["Attributes"]))
        transition = status_attributes(OrderStatus.PAYMENT_FAILED, user_id=order.user_id)
        values |= {
            ":status": transition["status"],
            ":gsi1pk": transition["gsi1pk"],
            ":gsi3pk": transition["gsi3pk"],
            ":code": OPERATOR_FAILURE_CODE,
        }
        fail = {
            "Update": {
                "TableName": self._table,
                "Key": _key(order),
                "UpdateExpression": (
                    "SET review_decision = :decision, reviewed_by = :by, updated_at = :now, "
                    "#status = :status, gsi1pk = :gsi1pk, gsi3pk = :gsi3pk, failure_code = :code"
                ),
                "ConditionExpression": _HELD,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(values),
            }
        }
        # A failed order never takes its units: they go back in the same transaction, so exactly once.
        releases = [release_stock(self._table, line.sku, line.quantity) for line in order.items]
        cancelled = transact_write(
            lambda: self._client.transact_write_items(TransactItems=[fail, *releases]),  # type: ignore[list-item]
            "the order store",
        )
        if isinstance(cancelled, TransactionCancelled):
            return None
        changed = {
            "status": OrderStatus.PAYMENT_FAILED,
            "updated_at": stamp,
            "review_decision": decision,
            "reviewed_by": by,
            "failure_code": OPERATOR_FAILURE_CODE,
        }
        return AdminOrderView.model_validate({**order.model_dump(), **changed})


def _key(order: AdminOrderView) -> dict[str, Any]:
    return to_item({"pk": user_pk(order.user_id), "sk": order_sk(order.id)})
