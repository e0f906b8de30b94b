"""One way to run a conditional DynamoDB write: a failed condition is an answer, every other fault `Unavailable`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shop.errors import Unavailable

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
