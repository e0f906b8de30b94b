"""The DynamoDB adapter of the EmailLedger port: one marker item per email, under its user.

The marker `USER#<user>/SENT_EMAIL#<kind>[#<order>[#<refund>]]` is claimed with a conditional put before
the send (`state = sending`, a random claim token, the claim time) and settled after it
(`state = sent`, the SES message id). A claim is taken over only when it is still `sending`
after its lease, which outlasts any live worker; see `shop.service_layer.notifications` for why.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import ConditionNotMet, conditional_write
from shop.adapters.dynamo import from_item, to_item, user_pk
from shop.domain.clock import isoformat
from shop.errors import Unavailable
from shop.service_layer.ports import ClaimResult, EmailAlreadySent, EmailClaim, EmailInFlight, EmailKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SENDING = "sending"
_SENT = "sent"


def marker_sort_key(key: EmailKey) -> str:
    return f"SENT_EMAIL#{key.kind}" + "".join(f"#{part}" for part in (key.order_id, key.refund_id) if part)


class DynamoEmailLedger:
    """Email markers in the shop table; every change is conditional on the marker's state or claim."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def claim(self, key: EmailKey, at: datetime, lease: timedelta) -> ClaimResult:
        token = secrets.token_hex(16)
        item = {
            **_key(key),
            "entity": "email",
            "kind": key.kind,
            "order_id": key.order_id,
            "state": _SENDING,
            "claim_token": token,
            "claimed_at": isoformat(at),
        }
        result = conditional_write(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR (#state = :sending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_item({":sending": _SENDING, ":stale": isoformat(at - lease)}),
                ReturnValues="ALL_OLD",
            ),
            "the email ledger",
        )
        if isinstance(result, ConditionNotMet):
            return self._current(key)

        return EmailClaim(token=token, took_over=bool(result.get("Attributes")))

    def settle(self, key: EmailKey, claim: EmailClaim, message_id: str, at: datetime) -> bool:
        return self._conditional(
            "update_item",
            key,
            UpdateExpression="SET #state = :sent, sent_at = :now, message_id = :message",
            ConditionExpression="#state = :sending AND claim_token = :token",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_item(
                {
                    ":sent": _SENT,
                    ":sending": _SENDING,
                    ":token": claim.token,
                    ":now": isoformat(at),
                    ":message": message_id,
                }
            ),
        )

    def release(self, key: EmailKey, claim: EmailClaim) -> None:
        self._conditional(
            "delete_item",
            key,
            ConditionExpression="#state = :sending AND claim_token = :token",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_item({":sending": _SENDING, ":token": claim.token}),
        )

    def mark_event_published(self, key: EmailKey) -> None:
        self._conditional(
            "update_item",
            key,
            UpdateExpression="SET event_published = :true",
            ConditionExpression="#state = :sent",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_item({":true": True, ":sent": _SENT}),
        )

    def _current(self, key: EmailKey) -> ClaimResult:
        try:
            response = self._client.get_item(TableName=self._table, Key=_key_item(key), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        marker = from_item(response.get("Item") or {})
        if marker.get("state") == _SENT:
            return EmailAlreadySent(event_published=bool(marker.get("event_published", False)))
        # Still sending under a live claim, or released a moment ago: try again later either way.
        return EmailInFlight()

    def _conditional(self, operation: str, key: EmailKey, **request: Any) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        result = conditional_write(
            lambda: getattr(self._client, operation)(TableName=self._table, Key=_key_item(key), **request),
            "the email ledger",
        )
        return not isinstance(result, ConditionNotMet)


def _key(key: EmailKey) -> dict[str, str]:
    return {"pk": user_pk(key.user_id), "sk": marker_sort_key(key)}


def _key_item(key: EmailKey) -> dict[str, Any]:
    return to_item(_key(key))


def _unavailable(exc: ClientError | BotoCoreError) -> Unavailable:
    return Unavailable("the email ledger is unavailable")
