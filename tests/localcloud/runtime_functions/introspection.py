"""Handlers that return what the runtime gave them."""

import os
import time
from typing import Any


def environment(event: object, context: object) -> dict[str, str]:
    return dict(os.environ)


def context_fields(event: dict[str, float], context: Any) -> dict[str, object]:
    before = context.get_remaining_time_in_millis()
    time.sleep(event["sleep_s"])
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_before_ms": before,
        "remaining_after_ms": context.get_remaining_time_in_millis(),
        "cwd": os.getcwd(),
    }
