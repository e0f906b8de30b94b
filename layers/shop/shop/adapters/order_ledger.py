"""The DynamoDB adapter of the payment pipeline's view of orders: settle, dispatch, find the stuck ones.

The order item is the one written by `shop.adapters.dynamo`. While an order waits for payment it carries
`gsi2pk = PENDING` and `gsi2sk` = the time of its last dispatch (its creation, at first), which
puts it in the sparse `PendingPayments` index. Settling removes both, so the index only ever
holds the orders the reconciler may need to send again, and its Query reads nothing else.

Leaving `pending_payment` for `payment_failed` or `cancelled` puts the order's units back in stock
in the same transaction as the conditional status change, so of two racing transitions only one
happens and the units go back exactly once. The payment worker claims an order before it calls
the provider (`charge_attempted_at`, set on a pending order only), and a cancel requires that no
claim exists: the charge and the cancel are one conditional write each on the same item, so
exactly one of them wins, and a cancelled order is never charged.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import ConditionNotMet, TransactionCancelled, conditional_write, transact_write
from shop.adapters.dynamo import (
    PENDING_PARTITION,
    PENDING_PAYMENTS_INDEX,
    PROFILE_SK,
    from_item,
    order_from_item,
    order_sk,
    release_stock,
    status_attributes,
    to_item,
    unavailable,
    user_pk,
)
from shop.domain.clock import isoformat
from shop.domain.models import CancellationReason, Order, OrderStatus, User
from shop.errors import Unavailable
from shop.service_layer.ports import Charged, ChargeOutcome, ChargeStart, PendingOrderKey, Transition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_STILL_PENDING = "#status = :pending"


class DynamoOrderLedger:
    """Orders under `USER#<user>/ORDER#<id>`, read strongly consistently and changed only conditionally."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, user_id: str, order_id: str) -> Order | None:
        try:
            # Consistent: the job may arrive milliseconds after the write that it follows.
            response = self._client.get_item(TableName=self._table, Key=_key(user_id, order_id), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc
        item = response.get("Item")
        return None if item is None else order_from_item(item)

    def customer_and_order(self, user_id: str, order_id: str) -> tuple[User | None, Order | None]:
        # The profile sorts after every order, so one range from the order to the profile holds
        # both; the orders placed after this one lie between and are filtered out (read, not
        # returned: a receipt is usually for the newest order, so there are few or none).
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :order AND :profile",
            "FilterExpression": "sk IN (:order, :profile)",
            "ExpressionAttributeValues": to_item(
                {":pk": user_pk(user_id), ":order": order_sk(order_id), ":profile": PROFILE_SK}
            ),
            "ConsistentRead": True,
        }
        user: User | None = None
        order: Order | None = None
        while True:
            try:
                response = self._client.query(**query)
            except (ClientError, BotoCoreError) as exc:
                raise unavailable(exc) from exc
            for item in response.get("Items", []):
                if item["sk"].get("S") == PROFILE_SK:
                    user = User.model_validate(from_item(item))
                else:
                    order = order_from_item(item)
            if "LastEvaluatedKey" not in response:
                return user, order
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def begin_charge(self, user_id: str, order_id: str, at: datetime) -> ChargeStart | Order | None:
        # One conditional write both claims the order and reads it: ALL_NEW returns the order
        # when it is pending, ALL_OLD on the failed condition returns it when it is not.
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=_key(user_id, order_id),
                UpdateExpression="SET charge_attempted_at = if_not_exists(charge_attempted_at, :now)",
                ConditionExpression=_STILL_PENDING,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {":now": isoformat(at), ":pending": OrderStatus.PENDING_PAYMENT.value}
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            "the order store",
        )
        if isinstance(result, ConditionNotMet):
            return None if result.item is None else order_from_item(result.item)
        order = order_from_item(dict(result["Attributes"]))
        if order.charge_attempted_at is None:
            raise Unavailable(f"order {order_id} lost its charge claim")
        return ChargeStart(order=order, first_attempt=datetime.fromisoformat(order.charge_attempted_at))

    def settle(self, order: Order, outcome: ChargeOutcome, at: datetime) -> Transition:
        if not isinstance(outcome, Charged):
            return self._leave_pending(
                order,
                OrderStatus.PAYMENT_FAILED,
                at,
                {"payment_id": outcome.payment_id, "failure_code": outcome.code},
                _STILL_PENDING,
            )
        stamp = isoformat(at)
        transition = status_attributes(OrderStatus.PAID, user_id=order.user_id)
        # Leaving the pending state also leaves the PendingPayments index and moves the order to
        # its new status partitions of ByUserStatus and OrdersByStatus, in the same single-item write.
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=_key(order.user_id, order.id),
                UpdateExpression=(
                    "SET #status = :status, updated_at = :now, gsi1pk = :gsi1pk, gsi3pk = :gsi3pk, "
                    "payment_id = :payment REMOVE gsi2pk, gsi2sk"
                ),
                ConditionExpression=_STILL_PENDING,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":status": transition["status"],
                        ":now": stamp,
                        ":gsi1pk": transition["gsi1pk"],
                        ":gsi3pk": transition["gsi3pk"],
                        ":payment": outcome.payment_id,
                        ":pending": OrderStatus.PENDING_PAYMENT.value,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            "the order store",
        )
        if isinstance(result, ConditionNotMet):
            return Transition(order=self._stored(order, result.item), done_now=False)
        return Transition(order=order_from_item(dict(result["Attributes"])), done_now=True)

    def cancel(self, order: Order, reason: CancellationReason, at: datetime) -> Transition:
        return self._leave_pending(
            order,
            OrderStatus.CANCELLED,
            at,
            {"cancellation_reason": reason.value},
            # Never claimed by the payment worker: a claimed order may be charged any moment.
            f"{_STILL_PENDING} AND attribute_not_exists(charge_attempted_at)",
        )

    def _leave_pending(
        self, order: Order, status: OrderStatus, at: datetime, extra: dict[str, str | None], condition: str
    ) -> Transition:
        """Move the order out of pending_payment and put its units back, in one transaction."""
        stamp = isoformat(at)
        attributes = status_attributes(status, user_id=order.user_id)
        values: dict[str, Any] = {
            ":status": attributes["status"],
            ":now": stamp,
            ":gsi1pk": attributes["gsi1pk"],
            ":gsi3pk": attributes["gsi3pk"],
            ":pending": OrderStatus.PENDING_PAYMENT.value,
        }
        # The status and its index keys (ByUserStatus, OrdersByStatus) move together.
        assignments = ["#status = :status", "updated_at = :now", "gsi1pk = :gsi1pk", "gsi3pk = :gsi3pk"]
        for index, (name, value) in enumerate(extra.items()):
            if value is not None:
                assignments.append(f"{name} = :extra{index}")
                values[f":extra{index}"] = value
        transition = {
            "Update": {
                "TableName": self._table,
                "Key": _key(order.user_id, order.id),
                "UpdateExpression": f"SET {', '.join(assignments)} REMOVE gsi2pk, gsi2sk",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        releases = [release_stock(self._table, line.sku, line.quantity) for line in order.items]
        result = transact_write(
            lambda: self._client.transact_write_items(TransactItems=[transition, *releases]),  # type: ignore[list-item]
            "the order store",
        )
        if isinstance(result, TransactionCancelled):
            return Transition(order=self._stored(order, result.items[0]), done_now=False)
        changed = {"status": status, "updated_at": stamp, **{k: v for k, v in extra.items() if v is not None}}
        return Transition(order=Order.model_validate({**order.model_dump(), **changed}), done_now=True)

    def _stored(self, order: Order, item: dict[str, Any] | None) -> Order:
        if item is None:
            raise Unavailable(f"order {order.id} vanished while it was changed")
        return order_from_item(item)

    def hold_for_review(self, order: Order, reason: str) -> None:
        # A decision taken on an earlier hold is cleared: this one waits for its own.
        self._update(
            order,
            "SET review_reason = :reason REMOVE gsi2pk, gsi2sk, review_decision, reviewed_by",
            {":reason": reason},
        )

    def pending_before(self, cutoff: datetime, limit: int) -> list[PendingOrderKey]:
        found: list[PendingOrderKey] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": PENDING_PAYMENTS_INDEX,
            "KeyConditionExpression": "gsi2pk = :pending AND gsi2sk < :cutoff",
            "ExpressionAttributeValues": to_item({":pending": PENDING_PARTITION, ":cutoff": isoformat(cutoff)}),
            "ScanIndexForward": True,
        }
        while len(found) < limit:
            try:
                response = self._client.query(**query, Limit=limit - len(found))
            except (ClientError, BotoCoreError) as exc:
                raise unavailable(exc) from exc
            for item in response.get("Items", []):
                keys = from_item(item)
                found.append(
                    PendingOrderKey(
                        user_id=keys["pk"].removeprefix("USER#"), order_id=keys["sk"].removeprefix("ORDER#")
                    )
                )
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found

    def mark_dispatched(self, order: Order, at: datetime) -> bool:
        # Moving the index sort key forward is what makes the reconciler idempotent across runs:
        # the order is not "stuck" again until another full threshold has passed.
        return self._update(order, "SET gsi2sk = :now", {":now": isoformat(at)}) is not None

    def _update(
        self, order: Order, expression: str, values: dict[str, Any], *, return_values: str = "UPDATED_NEW"
    ) -> dict[str, Any] | None:
        """Apply the update if the order is still pending; its new attributes, or None if it was not."""
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=_key(order.user_id, order.id),
                UpdateExpression=expression,
                ConditionExpression=_STILL_PENDING,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item({**values, ":pending": OrderStatus.PENDING_PAYMENT.value}),
                ReturnValues=return_values,  # type: ignore[arg-type]
            ),
            "the order store",
        )
        if isinstance(result, ConditionNotMet):
            return None

        return dict(result.get("Attributes", {}))


def _key(user_id: str, order_id: str) -> dict[str, Any]:
    return to_item({"pk": user_pk(user_id), "sk": order_sk(order_id)})
