"""The DynamoDB adapter of the LoginAttempts port: one counter item per email, in fixed windows.

The item `EMAIL#<email>/LOGIN_ATTEMPTS` holds `attempts`, `window_start` (epoch seconds) and the
table's TTL attribute `expires_at` (the window's end). Every change is one conditional UpdateItem,
so concurrent attempts can never admit more than the limit: the condition and the ADD are applied
together by DynamoDB, with no read in between. An attempt is counted before its password is
checked and forgiven once it succeeds, so at rest the counter holds only failures; unknown emails
get an item too, so the limit answers alike whether an account exists or not.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shop.adapters.conditional_writes import ConditionNotMet, conditional_write
from shop.adapters.dynamo import TTL_ATTRIBUTE, from_item, to_item
from shop.errors import Unavailable
from shop.service_layer.ports import AttemptAdmitted, AttemptRefused, LoginFailureLimit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ATTEMPTS_SORT_KEY = "LOGIN_ATTEMPTS"
_ENTITY = "login_attempts"
# Admitting into a live window, and opening a new one, may each lose one race to another attempt.
_ROUNDS = 2


def attempts_key(email: str) -> dict[str, str]:
    return {"pk": f"EMAIL#{email}", "sk": ATTEMPTS_SORT_KEY}


class DynamoLoginAttempts:
    """Login attempt counters in the shop table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def admit(self, email: str, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        now = int(at.timestamp())
        # A window that opened at or before this moment is over; TTL deletion lags by up to days,
        # so an ended window's item may still be there and must be treated as absent.
        ended_by = now - limit.window_seconds
        for _ in range(_ROUNDS):
            admitted, current = self._count_in_live_window(email, now, ended_by, limit)
            if admitted is not None:
                return admitted
            if current is not None and current["window_start"] > ended_by:
                return AttemptRefused(reopens_at=current["window_start"] + limit.window_seconds)
            if self._open_new_window(email, now, ended_by, limit):
                return AttemptAdmitted(email=email, window_start=now)
        raise Unavailable("login attempts of this account are contended; retry")

    def forgive(self, attempt: AttemptAdmitted) -> None:
        conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(attempt.email)),
                UpdateExpression="ADD attempts :minus_one",
                # Only in the window the attempt was counted in: a newer window owes it nothing.
                ConditionExpression="window_start = :start AND attempts > :zero",
                ExpressionAttributeValues=to_item({":minus_one": -1, ":start": attempt.window_start, ":zero": 0}),
            ),
            "the login attempt store",
        )

    def _count_in_live_window(
        self, email: str, now: int, ended_by: int, limit: LoginFailureLimit
    ) -> tuple[AttemptAdmitted | None, dict[str, Any] | None]:
        """Admit into the live window (opening one if there is no item); else the item as it stands."""
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(email)),
                UpdateExpression=(
                    "SET entity = :entity, window_start = if_not_exists(window_start, :now), "
                    f"{TTL_ATTRIBUTE} = if_not_exists({TTL_ATTRIBUTE}, :ends) ADD attempts :one"
                ),
                ConditionExpression="attribute_not_exists(pk) OR (window_start > :ended_by AND attempts < :limit)",
                ExpressionAttributeValues=to_item(
                    {
                        ":entity": _ENTITY,
                        ":now": now,
                        ":ends": now + limit.window_seconds,
                        ":one": 1,
                        ":ended_by": ended_by,
                        ":limit": limit.failures,
                    }
                ),
                ReturnValues="ALL_NEW",
                # The refused case learns why from the same call: no second read.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
            "the login attempt store",
        )
        if isinstance(result, ConditionNotMet):
            current = None if result.item is None else from_item(result.item)
            return None, current

        stored = from_item(result["Attributes"])
        return AttemptAdmitted(email=email, window_start=stored["window_start"]), None

    def _open_new_window(self, email: str, now: int, ended_by: int, limit: LoginFailureLimit) -> bool:
        """Replace an ended window with one holding this attempt; False when another attempt did it first."""
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(email)),
                UpdateExpression=(
                    f"SET entity = :entity, attempts = :one, window_start = :now, {TTL_ATTRIBUTE} = :ends"
                ),
                ConditionExpression="attribute_not_exists(pk) OR window_start <= :ended_by",
                ExpressionAttributeValues=to_item(
                    {
                        ":entity": _ENTITY,
                        ":one": 1,
                        ":now": now,
                        ":ends": now + limit.window_seconds,
                        ":ended_by": ended_by,
                    }
                ),
            ),
            "the login attempt store",
        )
        return not isinstance(result, ConditionNotMet)
