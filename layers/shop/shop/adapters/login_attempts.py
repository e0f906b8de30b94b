"""The DynamoDB adapter of the LoginAttempts port: counter items under the email, in fixed windows.

Two counters per email (`shop.service_layer.accounts` says why):
- the lock, `EMAIL#<email>/LOGIN_ATTEMPTS#SOURCE#<address>`, one per source address, with
  `attempts`, `window_start` (epoch seconds) and the table's TTL attribute `expires_at` (the
  window's end). Every change is one conditional UpdateItem, so concurrent attempts can never
  admit more than the limit: the condition and the ADD are applied together by DynamoDB, with no
  read in between;
- the pace, `EMAIL#<email>/LOGIN_PACE`, for every source together, with `not_before` besides:
  the epoch second before which no attempt is admitted. The delay depends on the count, which an
  update expression cannot raise to a power, so the pace is read and then written on condition
  that its count is still the one read (optimistic concurrency): two attempts never both take
  one slot.

An attempt is counted before its password is checked and forgiven once it succeeds, so at rest
the counters hold only failures; unknown emails get counters too, so the limits answer alike
whether an account exists or not.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.adapters.conditional_writes import ConditionNotMet, conditional_write
from shop.adapters.dynamo import TTL_ATTRIBUTE, from_item, to_item
from shop.errors import Unavailable
from shop.service_layer.ports import AttemptAdmitted, AttemptKey, AttemptRefused, LoginBackoff, LoginFailureLimit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ATTEMPTS_SORT_KEY = "LOGIN_ATTEMPTS"
PACE_SORT_KEY = "LOGIN_PACE"
_ENTITY = "login_attempts"
# Admitting into a live window, and opening a new one, may each lose one race to another attempt.
_ROUNDS = 2
# Each round of the pace is won by one of the attempts racing for it; past these, the rest are
# told to come back in a second rather than given a 503.
_PACE_ROUNDS = 3
_STORE = "the login attempt store"


def attempts_key(key: AttemptKey) -> dict[str, str]:
    sort_key = PACE_SORT_KEY if key.source is None else f"{ATTEMPTS_SORT_KEY}#SOURCE#{key.source}"
    return {"pk": f"EMAIL#{key.email}", "sk": sort_key}


class DynamoLoginAttempts:
    """Login attempt counters in the shop table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def admit(self, key: AttemptKey, at: datetime, limit: LoginFailureLimit) -> AttemptAdmitted | AttemptRefused:
        now = int(at.timestamp())
        # A window that opened at or before this moment is over; TTL deletion lags by up to days,
        # so an ended window's item may still be there and must be treated as absent.
        ended_by = now - limit.window_seconds
        for _ in range(_ROUNDS):
            admitted, current = self._count_in_live_window(key, now, ended_by, limit)
            if admitted is not None:
                return admitted
            if current is not None and current["window_start"] > ended_by:
                return AttemptRefused(reopens_at=current["window_start"] + limit.window_seconds)
            if self._open_new_window(key, now, ended_by, limit):
                return AttemptAdmitted(key=key, window_start=now)
        raise Unavailable("login attempts of this account are contended; retry")

    def admit_paced(self, email: str, at: datetime, backoff: LoginBackoff) -> AttemptAdmitted | AttemptRefused:
        key = AttemptKey(email)
        now = int(at.timestamp())
        for _ in range(_PACE_ROUNDS):
            current = self._read(key)
            live = current is not None and current["window_start"] > now - backoff.window_seconds
            if current is not None and live and current["not_before"] > now:
                return AttemptRefused(reopens_at=current["not_before"])
            start, attempts = (current["window_start"], current["attempts"] + 1) if current and live else (now, 1)
            pace = {
                "window_start": start,
                "attempts": attempts,
                "not_before": now + backoff.delay_after(attempts),
                TTL_ATTRIBUTE: start + backoff.window_seconds,
            }
            if self._replace_pace(key, current, pace):
                return AttemptAdmitted(key=key, window_start=start)
        return AttemptRefused(reopens_at=now + 1)

    def forgive(self, attempt: AttemptAdmitted) -> None:
        conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(attempt.key)),
                UpdateExpression="ADD attempts :minus_one",
                # Only in the window the attempt was counted in: a newer window owes it nothing.
                ConditionExpression="window_start = :start AND attempts > :zero",
                ExpressionAttributeValues=to_item({":minus_one": -1, ":start": attempt.window_start, ":zero": 0}),
            ),
            _STORE,
        )

    def _read(self, key: AttemptKey) -> dict[str, Any] | None:
        try:
            response = self._client.get_item(TableName=self._table, Key=to_item(attempts_key(key)), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"{_STORE} is unavailable") from exc
        item = response.get("Item")
        return None if item is None else from_item(item)

    def _replace_pace(self, key: AttemptKey, seen: dict[str, Any] | None, pace: dict[str, int]) -> bool:
        """Store `pace` over the item as it was read; False when another attempt changed it first."""
        values: dict[str, Any] = {":entity": _ENTITY} | {f":{name}": value for name, value in pace.items()}
        if seen is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "window_start = :seen_start AND attempts = :seen_attempts"
            values |= {":seen_start": seen["window_start"], ":seen_attempts": seen["attempts"]}
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(key)),
                UpdateExpression="SET entity = :entity, " + ", ".join(f"{name} = :{name}" for name in pace),
                ConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
            ),
            _STORE,
        )
        return not isinstance(result, ConditionNotMet)

    def _count_in_live_window(
        self, key: AttemptKey, now: int, ended_by: int, limit: LoginFailureLimit
    ) -> tuple[AttemptAdmitted | None, dict[str, Any] | None]:
        """Admit into the live window (opening one if there is no item); else the item as it stands."""
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(key)),
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
            _STORE,
        )
        if isinstance(result, ConditionNotMet):
            current = None if result.item is None else from_item(result.item)
            return None, current

        stored = from_item(result["Attributes"])
        return AttemptAdmitted(key=key, window_start=stored["window_start"]), None

    def _open_new_window(self, key: AttemptKey, now: int, ended_by: int, limit: LoginFailureLimit) -> bool:
        """Replace an ended window with one holding this attempt; False when another attempt did it first."""
        result = conditional_write(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item(attempts_key(key)),
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
            _STORE,
        )
        return not isinstance(result, ConditionNotMet)
