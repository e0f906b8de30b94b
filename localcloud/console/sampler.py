"""Samples the running stack at an interval, so that the console can draw how it moved over the last minutes."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.operations import MetricSummary, OperationError, QueueStatus
from localcloud.runtime import FunctionStats

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0
DEFAULT_HISTORY_S = 600.0
# Metric samples whose timestamp is a little older than the sampler still count as new.
_METRIC_LOOKBACK_S = 60.0

type MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]
# The failures of a source that the next sample may not see again: an emulator restarting, a queue deleted.
_SOURCE_ERRORS = (OperationError, BotoCoreError, ClientError)


@dataclass(frozen=True)
class FunctionActivity:
    """What one function did between two samples."""

    invocations: int
    errors: int
    cold_starts: int
    durations_ms: tuple[float, ...]


@dataclass(frozen=True)
class Sample:
    """The stack at one moment, and what happened since the sample before."""

    # Seconds since the epoch.
    at: float
    # None when the emulator did not answer.
    queues: tuple[QueueStatus, ...] | None
    functions: Mapping[str, FunctionActivity]
    # What each metric series added up to since the sample before.
    metric_sums: Mapping[MetricKey, float]


def metric_key(summary: MetricSummary) -> MetricKey:
    """The identity of a metric series: namespace, name and dimensions."""
    return summary.namespace, summary.name, summary.dimensions


class StackSampler:
    """Samples queue depths, function counters and metric sums; keeps a bounded history. Thread-safe."""

    def __init__(
        self,
        *,
        function_stats: Callable[[], Mapping[str, FunctionStats]],
        queues: Callable[[], Sequence[QueueStatus]],
        metrics: Callable[[timedelta], Sequence[MetricSummary]],
        interval_s: float = DEFAULT_INTERVAL_S,
        history_s: float = DEFAULT_HISTORY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"the sampling interval must be positive, not {interval_s}")
        self._function_stats = function_stats
        self._queues = queues
        self._metrics = metrics
        self.interval_s = interval_s
        self._clock = clock
        self._samples: deque[Sample] = deque(maxlen=max(1, math.ceil(history_s / interval_s)))
        # One sample at a time, each measured from the one before; readers only wait for the history.
        self._sampling = threading.Lock()
        self._lock = threading.Lock()
        self._anchor = clock() - _METRIC_LOOKBACK_S
        # What activity is counted from; start() moves it to the moment the sampler starts.
        self._stats: Mapping[str, FunctionStats] = {}
        self._metric_totals: dict[MetricKey, float] = {}
        self._failing: set[str] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Count activity from now on: sample now, then every interval on a background thread."""
        if self._thread is not None:
            raise RuntimeError("the sampler is already started")
        with self._sampling:
            self._stats = self._function_stats()
            self._metric_totals = self._read_metric_totals() or {}
        self.sample()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="console-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling; the history stays readable."""
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join()
        self._thread = None

    def sample(self) -> Sample:
        """Take one sample now and add it to the history."""
        with self._sampling:
            queues = self._read("queues", self._queues)
            stats = self._function_stats()
            totals = self._read_metric_totals()
            sums: dict[MetricKey, float] = {}
            if totals is not None:
                sums = {key: max(0.0, total - self._metric_totals.get(key, 0.0)) for key, total in totals.items()}
                self._metric_totals = totals
            sample = Sample(
                at=self._clock(),
                queues=None if queues is None else tuple(queues),
                functions={name: _activity(self._stats.get(name), now) for name, now in stats.items()},
                metric_sums=sums,
            )
            self._stats = stats
            with self._lock:
                self._samples.append(sample)
            return sample

    def history(self) -> list[Sample]:
        """The samples kept, oldest first."""
        with self._lock:
            return list(self._samples)

    def latest_queues(self) -> tuple[QueueStatus, ...] | None:
        """The queues of the newest sample that reached the emulator."""
        with self._lock:
            return next((sample.queues for sample in reversed(self._samples) if sample.queues is not None), None)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.sample()

    def _read_metric_totals(self) -> dict[MetricKey, float] | None:
        window = timedelta(seconds=math.ceil(self._clock() - self._anchor))
        summaries = self._read("metrics", lambda: self._metrics(window))
        return None if summaries is None else {metric_key(summary): summary.sum for summary in summaries}

    def _read[T](self, source: str, read: Callable[[], T]) -> T | None:
        try:
            value = read()
        except _SOURCE_ERRORS as error:
            if source not in self._failing:
                logger.warning("console: cannot sample %s: %s", source, error)
                self._failing.add(source)
            return None
        self._failing.discard(source)
        return value


def _activity(before: FunctionStats | None, now: FunctionStats) -> FunctionActivity:
    invocations = now.invocations - (before.invocations if before else 0)
    # The runtime keeps a bounded number of recent durations; a burst larger than that shows its tail.
    new_durations = now.recent_durations_ms[-invocations:] if invocations > 0 else ()
    return FunctionActivity(
        invocations=invocations,
        errors=now.errors - (before.errors if before else 0),
        cold_starts=now.cold_starts - (before.cold_starts if before else 0),
        durations_ms=tuple(new_durations),
    )
