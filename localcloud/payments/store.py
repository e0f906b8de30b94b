"""Payment intents, refunds and idempotency records, kept in memory and optionally in a JSON state file."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_FORMAT = "localcloud.payments/1"


class StateFileError(Exception):
    """The state file cannot be read or written, or does not hold payment state."""


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first response to an idempotency key, replayed for later requests with the same key."""

    fingerprint: str
    status: int
    body: dict[str, object]

    def to_json(self) -> dict[str, object]:
        return {"fingerprint": self.fingerprint, "status": self.status, "body": self.body}

    @classmethod
    def from_json(cls, data: object) -> IdempotencyRecord:
        if not isinstance(data, dict):
            raise ValueError("an idempotency record is not an object")
        fingerprint, status, body = data.get("fingerprint"), data.get("status"), data.get("body")
        if not isinstance(fingerprint, str) or not isinstance(status, int) or not isinstance(body, dict):
            raise ValueError("an idempotency record lacks fingerprint, status or body")
        return cls(fingerprint, status, body)


class PaymentStore:
    """Thread-safe storage; with a state file every change is written through before it is acknowledged."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._state_file = state_file
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # Insertion order is creation order; listing reverses it.
        self._intents: dict[str, dict[str, object]] = {}
        self._refunds: dict[str, dict[str, object]] = {}
        self._idempotency: dict[str, IdempotencyRecord] = {}
        if state_file is not None and state_file.exists():
            self._load(state_file)

    @contextlib.contextmanager
    def idempotency_lock(self, key: str) -> Iterator[None]:
        """Serialise requests that share an idempotency key, so only the first one executes."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            yield

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        with self._lock:
            return self._idempotency.get(key)

    def add_intent(self, intent: dict[str, object], key: str | None, record: IdempotencyRecord | None) -> None:
        """Store a new intent together with the response recorded for its idempotency key."""
        with self._lock:
            intents = {**self._intents, str(intent["id"]): copy.deepcopy(intent)}
            self._commit(intents, self._refunds, self._with_record(key, record))

    def add_refund(
        self,
        intent_id: str,
        create: Callable[[dict[str, object], int], dict[str, object]],
        key: str | None,
        record: Callable[[dict[str, object]], IdempotencyRecord] | None,
    ) -> dict[str, object] | None:
        """Store `create(intent, amount already refunded)` and its idempotency record; None when no such intent.

        `create` runs under the store's lock, so what it reads as refunded cannot change before its
        refund is stored: concurrent refunds of one intent never add up to more than it captured.
        """
        with self._lock:
            intent = self._intents.get(intent_id)
            if intent is None:
                return None
            refund = create(copy.deepcopy(intent), self._refunded(intent_id))
            refunds = {**self._refunds, str(refund["id"]): refund}
            recorded = None if record is None else record(refund)
            self._commit(self._intents, refunds, self._with_record(key, recorded))
            return copy.deepcopy(refund)

    def refund(self, refund_id: str) -> dict[str, object] | None:
        with self._lock:
            found = self._refunds.get(refund_id)
            return copy.deepcopy(found) if found is not None else None

    def refunds(self) -> list[dict[str, object]]:
        """All refunds, newest first."""
        with self._lock:
            return [copy.deepcopy(refund) for refund in reversed(self._refunds.values())]

    def _refunded(self, intent_id: str) -> int:
        return sum(
            int(str(refund["amount"]))
            for refund in self._refunds.values()
            if refund["payment_intent"] == intent_id and refund["status"] == "succeeded"
        )

    def _with_record(self, key: str | None, record: IdempotencyRecord | None) -> dict[str, IdempotencyRecord]:
        return self._idempotency if key is None or record is None else {**self._idempotency, key: record}

    def intent(self, intent_id: str) -> dict[str, object] | None:
        with self._lock:
            found = self._intents.get(intent_id)
            return copy.deepcopy(found) if found is not None else None

    def intents(self) -> list[dict[str, object]]:
        """All intents, newest first."""
        with self._lock:
            return [copy.deepcopy(intent) for intent in reversed(self._intents.values())]

    def reset(self) -> None:
        with self._lock:
            self._commit({}, {}, {})

    def _commit(
        self,
        intents: dict[str, dict[str, object]],
        refunds: dict[str, dict[str, object]],
        idempotency: dict[str, IdempotencyRecord],
    ) -> None:
        # Written before it is applied: a failed write leaves memory and file in agreement.
        if self._state_file is not None:
            self._write(self._state_file, intents, refunds, idempotency)
        self._intents, self._refunds, self._idempotency = intents, refunds, idempotency

    @staticmethod
    def _write(
        path: Path,
        intents: dict[str, dict[str, object]],
        refunds: dict[str, dict[str, object]],
        idempotency: dict[str, IdempotencyRecord],
    ) -> None:
        state = {
            "format": _FORMAT,
            "intents": list(intents.values()),
            "refunds": list(refunds.values()),
            "idempotency": {key: record.to_json() for key, record in idempotency.items()},
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A reader, or a restart after a crash mid-write, sees the old file or the new one, never half of one.
            descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as error:
            raise StateFileError(f"cannot write payment state file {path}: {error}") from error
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as temp_file:
                json.dump(state, temp_file)
            os.replace(temp_name, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise StateFileError(f"cannot write payment state file {path}: {error}") from error

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            self._intents, self._refunds, self._idempotency = _parse_state(state)
        except OSError as error:
            raise StateFileError(f"cannot read payment state file {path}: {error}") from error
        except ValueError as error:
            raise StateFileError(
                f"payment state file {path} is corrupt ({error}); move it away to start with empty state"
            ) from error


def _parse_state(
    state: object,
) -> tuple[dict[str, dict[str, object]], dict[str, dict[str, object]], dict[str, IdempotencyRecord]]:
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"not a {_FORMAT} state document")
    # A state file written before refunds existed has none.
    intents, refunds, idempotency = state.get("intents"), state.get("refunds", []), state.get("idempotency")
    if not isinstance(intents, list) or not isinstance(refunds, list) or not isinstance(idempotency, dict):
        raise ValueError("intents and refunds must be lists and idempotency an object")
    records = {str(key): IdempotencyRecord.from_json(record) for key, record in idempotency.items()}
    return _by_id(intents, "payment intent"), _by_id(refunds, "refund"), records


def _by_id(objects: list[object], kind: str) -> dict[str, dict[str, object]]:
    by_id: dict[str, dict[str, object]] = {}
    for found in objects:
        if not isinstance(found, dict) or not isinstance(found.get("id"), str):
            raise ValueError(f"a {kind} lacks its id")
        by_id[found["id"]] = found
    return by_id
