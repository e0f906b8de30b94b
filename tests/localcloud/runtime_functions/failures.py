"""Handlers that fail in each way Lambda tells apart."""

import os
import signal
import sys
import time


class OrderRejectedError(Exception):
    pass


def raise_error(event: object, context: object) -> None:
    raise OrderRejectedError("order 42 has no items")


def return_unserialisable(event: object, context: object) -> set[int]:
    return {1, 2}


def behave(event: dict[str, str | float], context: object) -> int:
    """Sleep, exit or get killed as the event says; otherwise return the process id."""
    print(f"about to {event['action']}")
    if event["action"] == "exit":
        os._exit(3)
    if event["action"] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if event["action"] == "sys.exit":
        sys.exit(0)
    if event["action"] == "sleep":
        time.sleep(float(event["seconds"]))
    return os.getpid()
