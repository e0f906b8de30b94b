"""Running a conditional DynamoDB write or transaction: a failed condition is an answer, any other fault raises."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.errors import Contention, Unavailable

CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class ConditionNotMet:
    """The write's condition did not hold; `item` is the item as it was, when the write asked for it."""

    item: dict[str, Any] | None


def conditional_write[R](write: Callable[[], R], store: str) -> R | ConditionNotMet:
    """Run `write`; its refused condition comes back as `ConditionNotMet`, SDK and network faults raise."""
    try:
        return write()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == CONDITION_FAILED:
            return ConditionNotMet(item=exc.response.get("Item"))  # type: ignore[arg-type]
        raise Unavailable(f"{store} is unavailable") from exc
    except BotoCoreError as exc:
        raise Unavailable(f"{store} is unavailable") from exc


TRANSACTION_CANCELED = "TransactionCanceledException"


def failed_conditions(exc: ClientError) -> list[int]:
    """The positions of a cancelled transaction's items whose condition failed; [] for any other error.

    A transaction cancelled only by contention (TransactionConflict) or throttling has none: it
    is worth a retry, not a 409.
    """
    if exc.response["Error"]["Code"] != TRANSACTION_CANCELED:
        return []
    reasons = exc.response.get("CancellationReasons", [])
    return [position for position, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"]


# Reasons DynamoDB gives when other requests, not our conditions, stopped a transaction.
_CONTENTION = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_CONTENTION_ATTEMPTS = 3
_CONTENTION_BACKOFF_S = 0.025


@dataclass(frozen=True)
class TransactionCancelled:
    """Conditions of the transaction failed; `reasons[i]` is the code of item i ("None" when it passed)."""

    reasons: tuple[str, ...]
    # Item i as it was, for items whose condition failed and that asked for ALL_OLD.
    items: tuple[dict[str, Any] | None, ...]

    def failed(self, index: int) -> bool:
        return self.reasons[index] == "ConditionalCheckFailed"


def transact_write[R](write: Callable[[], R], store: str) -> R | TransactionCancelled:
    """Run a TransactWriteItems call: failed conditions come back as `TransactionCancelled`.

    A transaction stopped only by concurrent writes or throttling is tried again, twice, after a
    jittered pause: a hot sku's stock item takes one transaction at a time, DynamoDB cancels the
    others with TransactionConflict instead of queueing them, and the SDK does not retry that.
    Still stopped, it raises `Contention` (a later retry may pass); any other fault `Unavailable`.
    """
    attempt = 1
    while True:
        try:
            return _transact_once(write, store)
        except Contention:
            if attempt == _CONTENTION_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, _CONTENTION_BACKOFF_S * 2**attempt))  # noqa: S311 - jitter, not secrecy
            attempt += 1


def _transact_once[R](write: Callable[[], R], store: str) -> R | TransactionCancelled:
    try:
        return write()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise Unavailable(f"{store} is unavailable") from exc
        reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
        codes = tuple(str(reason.get("Code", "None")) for reason in reasons)
        if "ConditionalCheckFailed" in codes:
            return TransactionCancelled(reasons=codes, items=tuple(reason.get("Item") for reason in reasons))
        if _CONTENTION.intersection(codes):
            raise Contention(f"{store} is busy with concurrent writes to the same items; retry") from exc
        raise Unavailable(f"{store} is unavailable") from exc
    except BotoCoreError as exc:
        raise Unavailable(f"{store} is unavailable") from exc
