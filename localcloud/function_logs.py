"""Where the output of functions goes: the console, a bounded in-memory record, CloudWatch Logs and metrics.

Every line a function prints is shown live with the function's logical id in front, kept in memory with
the request id of its invocation, and, when an emulator endpoint is given, shipped to CloudWatch Logs
(group `/aws/lambda/<function name>`, one stream per worker, as Lambda has one per execution environment)
by a background thread. Lines in the CloudWatch Embedded Metric Format become PutMetricData calls, as
CloudWatch does for Lambda functions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.spec import FunctionSpec

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.literals import StandardUnitType
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef

_log = logging.getLogger(__name__)

# Limits of one PutLogEvents call, and the bytes CloudWatch counts for each event besides its message.
_MAX_EVENTS_PER_PUT = 10_000
_MAX_BYTES_PER_PUT = 1_048_576
_EVENT_OVERHEAD_BYTES = 26
_MAX_MESSAGE_BYTES = 262_144 - _EVENT_OVERHEAD_BYTES
_MAX_DATA_PER_PUT_METRIC = 1000
# The EMF specification's limits.
_MAX_DIMENSIONS_PER_SET = 30
_MAX_VALUES_PER_METRIC = 100
_CLOUDWATCH_UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)


def log_group_name(function: FunctionSpec) -> str:
    """The CloudWatch log group Lambda writes a function's output to."""
    return f"/aws/lambda/{function.function_name}"


@dataclass(frozen=True)
class LogLine:
    """One line of a function's output, as kept in memory."""

    function_logical_id: str
    # None for what the function prints while its module is imported (Lambda's init phase).
    request_id: str | None
    timestamp_ms: int
    message: str


class InvalidEmfError(ValueError):
    """A log line that declares CloudWatch metrics (`_aws.CloudWatchMetrics`) but breaks the EMF specification."""


def metric_data_from_emf(message: str) -> list[tuple[str, MetricDatumTypeDef]]:
    """The (namespace, metric datum) pairs an EMF log line publishes; none when the line is not EMF."""
    parsed = _emf_document(message)
    if parsed is None:
        return []
    document, metadata = parsed
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        raise InvalidEmfError("_aws.Timestamp must be a number of milliseconds since the epoch")
    directives = metadata["CloudWatchMetrics"]
    if not isinstance(directives, list):
        raise InvalidEmfError("_aws.CloudWatchMetrics must be an array")
    when = datetime.fromtimestamp(timestamp / 1000, UTC)
    return [
        (namespace, datum)
        for directive in directives
        for namespace, datum in _metric_data_of_directive(directive, document, when)
    ]


def _emf_document(message: str) -> tuple[dict[str, object], dict[str, object]] | None:
    """The line's JSON object and its `_aws` metadata, if the line declares metrics."""
    if not message.startswith("{") or "_aws" not in message:
        return None
    try:
        document = json.loads(message)
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    metadata = document.get("_aws")
    if not isinstance(metadata, dict) or "CloudWatchMetrics" not in metadata:
        return None
    return document, metadata


def _metric_data_of_directive(
    directive: object, document: Mapping[str, object], when: datetime
) -> Iterator[tuple[str, MetricDatumTypeDef]]:
    if not isinstance(directive, dict):
        raise InvalidEmfError("each entry of _aws.CloudWatchMetrics must be an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace:
        raise InvalidEmfError("Namespace must be a non-empty string")
    dimension_sets = [_dimensions(keys, document) for keys in _list_of(directive, "Dimensions")] or [[]]
    for definition in _list_of(directive, "Metrics"):
        datum = _metric_datum(definition, document, when)
        for dimensions in dimension_sets:
            yield namespace, {**datum, "Dimensions": dimensions}


def _list_of(directive: Mapping[str, object], key: str) -> list[object]:
    value = directive.get(key)
    if not isinstance(value, list):
        raise InvalidEmfError(f"{key} must be an array")
    return value


def _dimensions(keys: object, document: Mapping[str, object]) -> list[DimensionTypeDef]:
    if not isinstance(keys, list) or len(keys) > _MAX_DIMENSIONS_PER_SET:
        raise InvalidEmfError(f"each dimension set must be an array of at most {_MAX_DIMENSIONS_PER_SET} keys")
    dimensions: list[DimensionTypeDef] = []
    for key in keys:
        value = document.get(key) if isinstance(key, str) else None
        if not isinstance(value, str) or not value:
            raise InvalidEmfError(f"dimension {key!r} must be a non-empty string member of the log line")
        dimensions.append({"Name": key, "Value": value})
    return dimensions


def _metric_datum(definition: object, document: Mapping[str, object], when: datetime) -> MetricDatumTypeDef:
    if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str):
        raise InvalidEmfError("each metric definition must be an object with a Name")
    name: str = definition["Name"]
    unit = definition.get("Unit", "None")
    if unit not in _CLOUDWATCH_UNITS:
        raise InvalidEmfError(f"metric {name!r} has unit {unit!r}, which CloudWatch does not know")
    datum: MetricDatumTypeDef = {
        "MetricName": name,
        "Timestamp": when,
        "Values": _metric_values(name, document.get(name)),
        "Unit": cast("StandardUnitType", unit),
    }
    resolution = definition.get("StorageResolution")
    if resolution is not None:
        if resolution not in (1, 60):
            raise InvalidEmfError(f"metric {name!r} has StorageResolution {resolution!r}; it must be 1 or 60")
        datum["StorageResolution"] = resolution
    return datum


def _metric_values(name: str, value: object) -> list[float]:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > _MAX_VALUES_PER_METRIC:
        raise InvalidEmfError(f"metric {name!r} must have between 1 and {_MAX_VALUES_PER_METRIC} values")
    numbers: list[float] = []
    for number in values:
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise InvalidEmfError(f"metric {name!r} must be a finite number or an array of them, not {number!r}")
        numbers.append(float(number))
    return numbers


@dataclass(frozen=True)
class _LogEvent:
    group: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True)
class _FlushRequest:
    done: threading.Event = field(default_factory=threading.Event)
    stop: bool = False


type _Shipment = _LogEvent | _FlushRequest


class _CloudWatchShipper:
    """Ships log events and EMF metrics to CloudWatch from a background thread, in batches."""

    def __init__(self, endpoint_url: str, region: str, batch_interval_s: float) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._batch_interval_s = batch_interval_s
        self._queue: queue.SimpleQueue[_Shipment] = queue.SimpleQueue()
        self._existing_streams: set[tuple[str, str]] = set()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-shipper", daemon=True)
        self._thread.start()

    def ship(self, event: _LogEvent) -> None:
        self._queue.put(event)

    def flush(self, timeout_s: float) -> None:
        request = _FlushRequest()
        self._queue.put(request)
        if not request.done.wait(timeout_s):
            raise TimeoutError(f"function output not shipped to CloudWatch within {timeout_s} s")

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_FlushRequest(stop=True))
            self._thread.join()

    def _run(self) -> None:
        # Clients are made here: creating them takes long enough to matter to whoever starts the runtime.
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=self._region
        )
        # An emulator that went away must cost the shipper seconds, not botocore's minutes of retries.
        config = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 2})
        logs = session.client("logs", endpoint_url=self._endpoint_url, config=config)
        cloudwatch = session.client("cloudwatch", endpoint_url=self._endpoint_url, config=config)
        while True:
            shipments = self._collect()
            events = [shipment for shipment in shipments if isinstance(shipment, _LogEvent)]
            self._put_log_events(logs, events)
            self._put_metrics(cloudwatch, events)
            requests = [shipment for shipment in shipments if isinstance(shipment, _FlushRequest)]
            for request in requests:
                request.done.set()
            if any(request.stop for request in requests):
                return

    def _collect(self) -> list[_Shipment]:
        # Waiting a little after the first event turns a burst of lines into one call.
        shipments = [self._queue.get()]
        deadline = time.monotonic() + self._batch_interval_s
        while not isinstance(shipments[-1], _FlushRequest) and (remaining := deadline - time.monotonic()) > 0:
            try:
                shipments.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return shipments

    def _put_log_events(self, logs: CloudWatchLogsClient, events: Sequence[_LogEvent]) -> None:
        by_stream: defaultdict[tuple[str, str], list[InputLogEventTypeDef]] = defaultdict(list)
        for event in events:
            by_stream[event.group, event.stream].append({"timestamp": event.timestamp_ms, "message": event.message})
        for (group, stream), stream_events in by_stream.items():
            stream_events.sort(key=lambda event: event["timestamp"])
            for batch in _log_event_batches(stream_events):
                try:
                    self._put_batch(logs, group, stream, batch)
                except (BotoCoreError, ClientError) as error:
                    _log.warning("could not ship %d log events to %s: %s", len(batch), group, error)

    def _put_batch(
        self, logs: CloudWatchLogsClient, group: str, stream: str, batch: list[InputLogEventTypeDef]
    ) -> None:
        self._ensure_stream(logs, group, stream)
        try:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
        except logs.exceptions.ResourceNotFoundException:
            # Someone deleted the group or stream (or reset the emulator): create it again, once.
            self._existing_streams.discard((group, stream))
            self._ensure_stream(logs, group, stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)

    def _ensure_stream(self, logs: CloudWatchLogsClient, group: str, stream: str) -> None:
        if (group, stream) in self._existing_streams:
            return
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        self._existing_streams.add((group, stream))

    def _put_metrics(self, cloudwatch: CloudWatchClient, events: Sequence[_LogEvent]) -> None:
        by_namespace: defaultdict[str, list[MetricDatumTypeDef]] = defaultdict(list)
        for event in events:
            try:
                data = metric_data_from_emf(event.message)
            except InvalidEmfError as error:
                _log.warning("%s: EMF log line ignored, as CloudWatch would: %s", event.group, error)
                continue
            for namespace, datum in data:
                by_namespace[namespace].append(datum)
        for namespace, metric_data in by_namespace.items():
            for start in range(0, len(metric_data), _MAX_DATA_PER_PUT_METRIC):
                chunk = metric_data[start : start + _MAX_DATA_PER_PUT_METRIC]
                try:
                    cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
                except (BotoCoreError, ClientError) as error:
                    _log.warning("could not put %d metric data in namespace %s: %s", len(chunk), namespace, error)


def _log_event_batches(events: list[InputLogEventTypeDef]) -> Iterator[list[InputLogEventTypeDef]]:
    batch: list[InputLogEventTypeDef] = []
    batch_bytes = 0
    for event in events:
        size = len(event["message"].encode()) + _EVENT_OVERHEAD_BYTES
        if batch and (len(batch) == _MAX_EVENTS_PER_PUT or batch_bytes + size > _MAX_BYTES_PER_PUT):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(event)
        batch_bytes += size
    if batch:
        yield batch


def _truncated(message: str) -> str:
    encoded = message.encode()
    if len(encoded) <= _MAX_MESSAGE_BYTES:
        return message
    return encoded[:_MAX_MESSAGE_BYTES].decode(errors="ignore")


class FunctionLogs:
    """The sink of function output: console, in-memory record, and CloudWatch Logs and metrics when emulated."""

    def __init__(
        self,
        *,
        console: TextIO | None,
        endpoint_url: str | None,
        region: str,
        lines_per_function: int = 1000,
        batch_interval_s: float = 0.2,
        name_lines: bool = True,
    ) -> None:
        self._console = console
        # Whether each line on the console starts with its function's logical id (one function's alone: no).
        self._name_lines = name_lines
        self._console_lock = threading.Lock()
        self._recent: defaultdict[str, deque[LogLine]] = defaultdict(lambda: deque(maxlen=lines_per_function))
        self._recent_lock = threading.Lock()
        self._shipper = _CloudWatchShipper(endpoint_url, region, batch_interval_s) if endpoint_url is not None else None

    def write(self, function: FunctionSpec, log_stream_name: str, request_id: str | None, message: str) -> None:
        """Record one line of a function's output; thread-safe."""
        timestamp_ms = int(time.time() * 1000)
        with self._recent_lock:
            self._recent[function.logical_id].append(LogLine(function.logical_id, request_id, timestamp_ms, message))
        if self._console is not None:
            self._show(function.logical_id, message)
        if self._shipper is not None:
            # Lambda's log events from stdout keep their newline.
            event = _LogEvent(log_group_name(function), log_stream_name, timestamp_ms, _truncated(message + "\n"))
            self._shipper.ship(event)

    def _show(self, function_logical_id: str, message: str) -> None:
        prefix = f"[{function_logical_id}] " if self._name_lines else ""
        # A carriage return separates the lines of one error record; on a console each gets its prefix.
        shown = prefix + message.replace("\r", "\n" + prefix) + "\n"
        with self._console_lock:
            if self._console is None:
                return
            try:
                self._console.write(shown)
                self._console.flush()
            except (OSError, ValueError) as error:
                # A console gone (a closed pipe, say) must not stop the reading of the functions' output.
                _log.warning("function output no longer shown on the console: %s", error)
                self._console = None

    def recent(self, function_logical_id: str, *, request_id: str | None = None) -> list[LogLine]:
        """The function's most recent lines, oldest first; only one invocation's when request_id is given."""
        with self._recent_lock:
            lines = list(self._recent.get(function_logical_id, ()))
        if request_id is None:
            return lines
        return [line for line in lines if line.request_id == request_id]

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every line written so far is in CloudWatch (no-op without an emulator)."""
        if self._shipper is not None:
            self._shipper.flush(timeout_s)

    def close(self) -> None:
        """Ship what is pending and stop the background thread; idempotent."""
        if self._shipper is not None:
            self._shipper.close()
