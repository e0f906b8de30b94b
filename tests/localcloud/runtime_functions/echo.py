"""Handlers that report on the process that runs them."""

import itertools
import os
import sys
import time
from decimal import Decimal

from greeting import GREETING  # type: ignore[import-not-found]  # found on the test layer's path at run time

IMPORTED_AT = time.time()
_invocation_numbers = itertools.count(1)


def handler(event: object, context: object) -> dict[str, object]:
    return {
        "event": event,
        "pid": os.getpid(),
        "imported_at": IMPORTED_AT,
        "invocations_in_this_process": next(_invocation_numbers),
        "greeting": GREETING,
    }


def search_path(event: object, context: object) -> list[str]:
    return sys.path


def timed(event: dict[str, float], context: object) -> dict[str, float]:
    started = time.time()
    time.sleep(event["seconds"])
    return {"pid": os.getpid(), "started": started, "ended": time.time()}


def price(event: object, context: object) -> dict[str, Decimal]:
    return {"price": Decimal("9.99"), "quantity": Decimal("3")}


def noop(event: object, context: object) -> None:
    return None
