"""The DynamoDB adapter of the payment pipeline's view of orders: settle, dispatch, find the stuck ones.

The order item is the one written by `shop.adapters.dynamo`. While an order waits for payment it carries
`gsi2pk = PENDING` and `gsi2sk` = the time of its last dispatch (its creation, at first), which
puts it in the sparse `PendingPayments` index. Settling removes both, so the index only ever
holds the orders the reconciler may need to send again, and its Query reads nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import ConditionNotMet, conditional_write
from shop.adapters.dynamo import (
    PENDING_PARTITION,
    PENDING_PAYMENTS_INDEX,
    from_item,
    order_from_item,
    order_sk,
    status_attributes,
    to_item,
    unavailable,
    user_pk,
)
from shop.domain.clock import isoformat
from shop.domain.models import Order, OrderStatus
from shop.errors import Unavailable
from shop.service_layer.ports import Charged, ChargeOutcome, PendingOrderKey

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

    def record_charge_attempt(self, order: Order, at: datetime) -> datetime | None:
        attributes = self._update(
            order,
            "SET charge_attempted_at = if_not_exists(charge_attempted_at, :now)",
            {":now": isoformat(at)},
            # ALL_NEW: when the attribute already exists the update leaves it as it was, and
            # UPDATED_NEW may then leave it out.
            return_values="ALL_NEW",
        )
        if attributes is None:
            return None
        return datetime.fromisoformat(from_item(attributes)["charge_attempted_at"])

    def settle(self, order: Order, outcome: ChargeOutcome, at: datetime) -> Order:
        status = OrderStatus.PAID if isinstance(outcome, Charged) else OrderStatus.PAYMENT_FAILED
        transition = status_attributes(status, user_id=order.user_id)
        assignments = {
            "#status": (":status", transition.pop("status")),
            **{name: (f":{name}", value) for name, value in transition.items()},
            "updated_at": (":now", isoformat(at)),
            "payment_id": (":payment", outcome.payment_id),
            "failure_code": (":code", None if isinstance(outcome, Charged) else outcome.code),
        }
        present = {name: pair for name, pair in assignments.items() if pair[1] is not None}
        update = "SET " + ", ".join(f"{name} = {placeholder}" for name, (placeholder, _) in present.items())
        # Leaving the pending state also leaves the PendingPayments index and moves the order to
        # its new status partitions of ByUserStatus and OrdersByStatus, in the same single-item write.
        attributes = self._update(
            order,
            f"{update} REMOVE gsi2pk, gsi2sk",
            {placeholder: value for placeholder, value in present.values()},
            return_values="ALL_NEW",
        )
        if attributes is not None:
            return order_from_item(attributes)
        stored = self.get(order.user_id, order.id)
        if stored is None:
            raise Unavailable(f"order {order.id} vanished while being settled")
        return stored

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
