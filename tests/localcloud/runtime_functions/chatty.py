"""A handler that writes to its log every way a function can."""

import logging
import sys

print("imported chatty")


def handler(event: dict[str, str], context: object) -> str:
    print(f"order {event['order_id']} received")
    print("to stderr", file=sys.stderr)
    logging.getLogger().warning("stock is low")
    print("no newline at the end", end="")
    return "done"
