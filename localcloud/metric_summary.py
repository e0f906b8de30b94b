"""Per-series totals of the emulated CloudWatch metrics over a recent window.

Computed inside the emulator from moto's samples because moto's GetMetricStatistics matches a
series by a subset of its dimensions: asking for {service=a} would also add up the samples of
{service=a, operation=b}, where CloudWatch matches dimensions exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends


@dataclass(frozen=True)
class MetricSummary:
    """One metric series (namespace, name, dimensions) and its samples within the window."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    sum: float
    count: float
    minimum: float | None
    maximum: float | None
    unit: str | None


@dataclass
class _Totals:
    sum: float = 0.0
    count: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None

    def add(self, total: float, count: float, minimum: float, maximum: float, unit: str | None) -> None:
        self.sum += total
        self.count += count
        self.minimum = minimum if self.minimum is None else min(self.minimum, minimum)
        self.maximum = maximum if self.maximum is None else max(self.maximum, maximum)
        self.unit = unit or self.unit


def summarize_metrics(
    account_id: str, region: str, namespace: str | None, window: timedelta, now: datetime | None = None
) -> list[MetricSummary]:
    """Every series of one region that has samples, with the totals of those within `window` before `now`."""
    end = now or datetime.now(UTC)
    start = end - window
    series: dict[tuple[str, str, tuple[tuple[str, str], ...]], _Totals] = {}
    for datum in list(cloudwatch_backends[account_id][region].metric_data):
        if namespace is not None and datum.namespace != namespace:
            continue
        dimensions = tuple(sorted((str(d.name), str(d.value)) for d in datum.dimensions))
        totals = series.setdefault((datum.namespace, datum.name, dimensions), _Totals())
        # moto keeps timestamps as naive UTC.
        timestamp = datum.timestamp if datum.timestamp.tzinfo else datum.timestamp.replace(tzinfo=UTC)
        if not start <= timestamp <= end:
            continue
        if isinstance(datum, MetricDatum):
            value = float(datum.value)
            totals.add(value, 1.0, value, value, datum.unit)
        elif isinstance(datum, MetricAggregatedDatum):
            totals.add(float(datum.sum), float(datum.sample_count), float(datum.min), float(datum.max), datum.unit)
    return [
        MetricSummary(namespace, name, dimensions, t.sum, t.count, t.minimum, t.maximum, t.unit)
        for (namespace, name, dimensions), t in sorted(series.items())
    ]


def metric_summary_to_json(summary: MetricSummary) -> dict[str, Any]:
    """The JSON form of a summary, as the emulator serves it."""
    return {
        "namespace": summary.namespace,
        "name": summary.name,
        "dimensions": [[name, value] for name, value in summary.dimensions],
        "sum": summary.sum,
        "count": summary.count,
        "minimum": summary.minimum,
        "maximum": summary.maximum,
        "unit": summary.unit,
    }


def metric_summary_from_json(document: Mapping[str, Any]) -> MetricSummary:
    """A summary from the JSON the emulator serves; KeyError, TypeError or ValueError when malformed."""
    return MetricSummary(
        namespace=str(document["namespace"]),
        name=str(document["name"]),
        dimensions=tuple((str(name), str(value)) for name, value in document["dimensions"]),
        sum=float(document["sum"]),
        count=float(document["count"]),
        minimum=None if document["minimum"] is None else float(document["minimum"]),
        maximum=None if document["maximum"] is None else float(document["maximum"]),
        unit=document["unit"],
    )
