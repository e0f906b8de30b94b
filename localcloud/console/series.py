"""Time series for the console's charts, built from the sampler's history."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from localcloud.console.sampler import MetricKey, Sample


@dataclass(frozen=True)
class FunctionWindow:
    """One function's activity over a span of time."""

    invocations: int
    errors: int
    cold_starts: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Buckets:
    """Equal spans of time, the last one holding `now`; a sample counts in the bucket its time falls in."""

    start: float
    width_s: float
    count: int

    @classmethod
    def ending_at(cls, now: float, span_s: float, width_s: float) -> Buckets:
        end = (math.floor(now / width_s) + 1) * width_s
        count = max(1, math.ceil(span_s / width_s))
        return cls(end - count * width_s, width_s, count)

    def starts(self) -> list[float]:
        return [self.start + index * self.width_s for index in range(self.count)]

    def index_of(self, moment: float) -> int | None:
        index = math.floor((moment - self.start) / self.width_s)
        return index if 0 <= index < self.count else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (fraction 0.5 is the median); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def function_window(samples: Iterable[Sample], function_logical_id: str, *, since: float) -> FunctionWindow:
    """The function's activity in the samples taken after `since`."""
    return _window([sample for sample in samples if sample.at > since], function_logical_id)


def function_buckets(samples: Iterable[Sample], function_logical_id: str, buckets: Buckets) -> list[FunctionWindow]:
    """The function's activity per bucket, oldest first."""
    grouped: list[list[Sample]] = [[] for _ in range(buckets.count)]
    for sample in samples:
        index = buckets.index_of(sample.at)
        if index is not None:
            grouped[index].append(sample)
    return [_window(group, function_logical_id) for group in grouped]


def metric_buckets(samples: Iterable[Sample], key: MetricKey, buckets: Buckets) -> list[float]:
    """How much a metric series added up to per bucket, oldest first."""
    sums = [0.0] * buckets.count
    for sample in samples:
        index = buckets.index_of(sample.at)
        if index is not None:
            sums[index] += sample.metric_sums.get(key, 0.0)
    return sums


def _window(samples: Sequence[Sample], function_logical_id: str) -> FunctionWindow:
    activities = [
        sample.functions[function_logical_id] for sample in samples if function_logical_id in sample.functions
    ]
    durations = [duration for activity in activities for duration in activity.durations_ms]
    return FunctionWindow(
        invocations=sum(activity.invocations for activity in activities),
        errors=sum(activity.errors for activity in activities),
        cold_starts=sum(activity.cold_starts for activity in activities),
        p50_ms=percentile(durations, 0.5),
        p95_ms=percentile(durations, 0.95),
    )
