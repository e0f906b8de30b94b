"""The one retry schedule of the queue workers: exponential backoff with jitter, from the receive count.

A worker that meets a transient failure hides the message for `retry_delay_seconds(n)` with
ChangeMessageVisibility, where n is the message's ApproximateReceiveCount, and reports it as a
batch item failure. The ceiling doubles from 15 s; "equal jitter" picks a delay between half
the ceiling and the ceiling, so retries of many messages that failed together spread out, yet
each retry of one message waits at least as long as the one before; the delay is capped at
30 minutes:

| receive | delay (s)   |
|---------|-------------|
| 1       | 8 - 15      |
| 2       | 15 - 30     |
| 3       | 30 - 60     |
| 4       | 60 - 120    |
| 5       | 120 - 240   |
| 6       | 240 - 480   |
| 7       | 480 - 960   |
| 8       | 960 - 1800  |
| 9 on    | 1800 (reached only if `maxReceiveCount` is raised) |

Both work queues redrive after 8 receives (`maxReceiveCount` in template.yaml), so a message
that keeps failing reaches its dead-letter queue after 32 to 62 minutes of retries, which rides
out a provider incident of that length without an operator. The dead-letter queue alarm fires
then; once the cause is fixed an operator redrives the queue (and the maintenance sweep sends
the stuck orders' jobs again regardless).

The table is the production schedule. The template parameters `RetryBaseSeconds` and
`RetryMaxSeconds` set the base and the cap (the chaos test compresses the schedule with them, so
that minutes of faults fit in a test run); the shape stays the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 1800


def retry_delay_seconds(
    receive_count: int,
    jitter: Callable[[], float] = random.random,
    *,
    base_seconds: int = BASE_DELAY_SECONDS,
    max_seconds: int = MAX_DELAY_SECONDS,
) -> int:
    """Seconds to hide a message after its `receive_count`-th delivery failed transiently."""
    doublings = min(max(receive_count, 1), 32) - 1
    half = (base_seconds << doublings) / 2
    # Capping the jittered delay, not the ceiling, keeps the floor of each step above the last.
    return min(max_seconds, round(half + jitter() * half))
