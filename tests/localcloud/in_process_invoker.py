"""A fake of the Invoker port that calls plain Python handlers in this process."""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.spec import FunctionError, Invocation

Handler = Callable[[object], object]


class SimulatedTimeout(Exception):
    """Raised by a test handler to make the invocation end as a Lambda timeout."""


class SimulatedCrash(Exception):
    """Raised by a test handler to make the invocation end as a dead worker process."""


class InProcessInvoker:
    """Invokes handlers by logical id, with Lambda's JSON round trip and failure shapes."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)
        self._lock = threading.Lock()
        self._calls: list[tuple[str, object]] = []

    def invoke(self, function_logical_id: str, event: object) -> Invocation:
        # Lambda hands the function a JSON copy of the event: this also proves the event serialises.
        event = json.loads(json.dumps(event))
        with self._lock:
            self._calls.append((function_logical_id, event))
        handler = self._handlers[function_logical_id]
        request_id = str(uuid.uuid4())
        started = time.perf_counter()

        def outcome(payload: object = None, error: FunctionError | None = None, **flags: bool) -> Invocation:
            duration_ms = (time.perf_counter() - started) * 1000
            return Invocation(request_id, function_logical_id, payload, error, duration_ms, **flags)

        try:
            payload = handler(event)
        except SimulatedTimeout:
            return outcome(error=FunctionError("Sandbox.Timedout", "Task timed out after 3.00 seconds"), timed_out=True)
        except SimulatedCrash:
            return outcome(error=FunctionError("Runtime.ExitError", "Runtime exited with error"), crashed=True)
        except Exception as error:  # The function's edge: any exception it raises is its error.
            stack = tuple(traceback.format_exception(error))
            return outcome(error=FunctionError(type(error).__name__, str(error), stack))
        return outcome(json.loads(json.dumps(payload)))

    def calls_to(self, function_logical_id: str) -> list[Any]:
        """The events a function was invoked with, oldest first."""
        with self._lock:
            return [event for name, event in self._calls if name == function_logical_id]
