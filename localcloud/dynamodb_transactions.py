"""DynamoDB's idempotent TransactWriteItems, which moto lacks: a retry with the same ClientRequestToken writes nothing.

botocore fills in a ClientRequestToken for every TransactWriteItems call and sends the same token
when it retries the call, so that a retry after a lost answer (a read timeout, say, while the
emulator is busy) is answered as the first attempt was, not cancelled by the conditions that the
first attempt's own writes now fail. moto ignores the token. `TransactionTokens` keeps each
successful call's answer for DynamoDB's 10 minutes: a call with a known token gets that answer
again, or IdempotentParameterMismatchException when its parameters differ.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

TRANSACT_WRITE_ITEMS_TARGET = "DynamoDB_20120810.TransactWriteItems"
# "A client request token is valid for 10 minutes after the first request that uses it is completed."
TOKEN_LIFETIME_S = 600.0
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


@dataclass(frozen=True)
class StoredAnswer:
    """An HTTP answer as the WSGI application gave it."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class _Entry:
    parameters: object
    answer: StoredAnswer
    stored_at: float


class TransactionTokens:
    """Successful TransactWriteItems answers by ClientRequestToken, for 10 minutes; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def answer_for(self, token: str, parameters: object) -> StoredAnswer | None:
        """The answer to replay for a call with this token and parameters; None when the call must run."""
        with self._lock:
            self._forget_expired()
            entry = self._entries.get(token)
        if entry is None:
            return None
        if entry.parameters != parameters:
            return _parameter_mismatch()
        return entry.answer

    def remember(self, token: str, parameters: object, answer: StoredAnswer) -> None:
        """Keep a successful call's answer; failed calls are not kept, so their retries run again."""
        if not answer.status.startswith("200"):
            return
        with self._lock:
            self._entries[token] = _Entry(parameters, answer, self._clock())
            self._entries.move_to_end(token)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _forget_expired(self) -> None:
        # Entries are kept in the order they were stored, so the expired ones are at the front.
        horizon = self._clock() - TOKEN_LIFETIME_S
        while self._entries and next(iter(self._entries.values())).stored_at < horizon:
            self._entries.popitem(last=False)


def request_token(body: bytes) -> tuple[str, object] | None:
    """The ClientRequestToken of a TransactWriteItems body and the call's other parameters; None without one."""
    try:
        parameters = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parameters, dict):
        return None
    token = parameters.pop("ClientRequestToken", None)
    return (token, parameters) if isinstance(token, str) and token else None


def _parameter_mismatch() -> StoredAnswer:
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "message": "The request uses the same client token as a previous, but non-identical request.",
        }
    ).encode()
    return StoredAnswer(
        "400 Bad Request", [("Content-Type", _JSON_CONTENT_TYPE), ("Content-Length", str(len(body)))], body
    )
