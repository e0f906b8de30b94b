"""What the CLI and the web console ask a running emulator: mail, queues, metrics, logs.

Everything goes over HTTP to the emulator's URL, so the caller may be another process than the
one that runs `localcloud up`. Formatting for people is the caller's job.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from localcloud.emulator import CONTAINERS_ROUTE, MAIL_ROUTE, METRICS_ROUTE, emulator_session
from localcloud.local_access import TOOL_HEADERS
from localcloud.mailbox import SentEmail, sent_email_from_json
from localcloud.metric_summary import MetricSummary, metric_summary_from_json

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

__all__ = [
    "EmulatorUnreachableError",
    "LogEvent",
    "LogGroupNotFoundError",
    "MetricSummary",
    "NotADeadLetterQueueError",
    "OperationError",
    "QueueNotFoundError",
    "QueueStatus",
    "RedriveError",
    "SentEmail",
    "list_mail",
    "list_metrics",
    "queue_overview",
    "redrive_dlq",
    "tail_logs",
]

DEFAULT_REGION = "us-east-1"
# Lambda's log group naming, which the runtime follows.
LAMBDA_LOG_GROUP_PREFIX = "/aws/lambda/"
# A message being moved stays hidden from other consumers this long; far more than one batch takes.
_REDRIVE_VISIBILITY_S = 60
# Events of several streams reach CloudWatch Logs out of timestamp order; a follow re-reads this
# much of the past on each poll so that a late event is still shown (once).
_FOLLOW_LOOKBACK_MS = 30_000
# One quick retry: the caller is a person at a terminal waiting for an answer or an error.
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=60, retries={"mode": "standard", "total_max_attempts": 2})


class OperationError(Exception):
    """A query or action on the emulator that cannot be done; the message is one readable line."""


class EmulatorUnreachableError(OperationError):
    """Nothing answers at the emulator URL."""


class QueueNotFoundError(OperationError):
    """No queue has the given name or URL."""


class NotADeadLetterQueueError(OperationError):
    """The queue is not the dead-letter queue of any queue (or of several, with no destination chosen)."""


class RedriveError(OperationError):
    """Some messages could not be moved back; the others were."""


class LogGroupNotFoundError(OperationError):
    """The function has no log group (it never ran, or the name is wrong)."""


@dataclass(frozen=True)
class QueueStatus:
    """One queue's message counts and its place in dead-letter redrive."""

    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    fifo: bool
    # Queues whose RedrivePolicy sends their failed messages here; empty unless this is a DLQ.
    dead_letter_sources: tuple[str, ...]
    # This queue's own dead-letter queue and the receive count that sends a message there.
    dead_letter_target: str | None
    max_receive_count: int | None

    @property
    def is_dead_letter_queue(self) -> bool:
        """Whether another queue sends its failed messages here."""
        return bool(self.dead_letter_sources)


@dataclass(frozen=True)
class LogEvent:
    """One line a function logged."""

    timestamp: datetime
    stream: str
    message: str
    event_id: str


def list_mail(endpoint_url: str) -> list[SentEmail]:
    """Every message the emulated SES (v1 and v2) accepted, oldest first."""
    document = _get_localcloud_route(endpoint_url, MAIL_ROUTE)
    try:
        return [sent_email_from_json(item) for item in document["mail"]]
    except (KeyError, TypeError, ValueError) as error:
        raise OperationError(
            f"the emulator at {endpoint_url} answered {MAIL_ROUTE} with malformed mail: {error}"
        ) from error


def list_metrics(
    endpoint_url: str,
    namespace: str | None = None,
    *,
    region: str = DEFAULT_REGION,
    window: timedelta = timedelta(hours=1),
) -> list[MetricSummary]:
    """Every metric series of a region, with its sum and sample count over the last `window`."""
    seconds = int(window.total_seconds())
    if seconds <= 0:
        raise ValueError(f"the metrics window must be at least one second, got {window}")
    parameters = {"region": region, "window_s": str(seconds), **({"namespace": namespace} if namespace else {})}
    document = _get_localcloud_route(endpoint_url, f"{METRICS_ROUTE}?{urlencode(parameters)}")
    try:
        return [metric_summary_from_json(item) for item in document["metrics"]]
    except (KeyError, TypeError, ValueError) as error:
        raise OperationError(
            f"the emulator at {endpoint_url} answered {METRICS_ROUTE} with malformed metrics: {error}"
        ) from error


def container_host(endpoint_url: str) -> str | None:
    """The host containers reach the emulator at (`localcloud up --bind-for-containers`); None: they cannot."""
    document = _get_localcloud_route(endpoint_url, CONTAINERS_ROUTE)
    host = document.get("container_host")
    if host is not None and not isinstance(host, str):
        raise OperationError(f"the emulator at {endpoint_url} answered {CONTAINERS_ROUTE} with {host!r} as host")
    return host


def _get_localcloud_route(endpoint_url: str, route: str) -> dict[str, Any]:
    url = f"{endpoint_url.rstrip('/')}{route}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(TOOL_HEADERS)), timeout=30) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise OperationError(
                f"{endpoint_url} is not a localcloud emulator (no {route.split('?', maxsplit=1)[0]})"
            ) from error
        raise OperationError(f"the emulator at {endpoint_url} answered {route}: HTTP {error.code}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise _unreachable(endpoint_url, error) from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise OperationError(
            f"the emulator at {endpoint_url} answered {route} with something other than JSON"
        ) from error
    if not isinstance(document, dict):
        raise OperationError(f"the emulator at {endpoint_url} answered {route} with unexpected JSON")
    return document


def _unreachable(endpoint_url: str, error: Exception) -> EmulatorUnreachableError:
    reason = getattr(error, "reason", error)
    return EmulatorUnreachableError(f"no emulator answers at {endpoint_url} ({reason}); is `localcloud up` running?")


def _sqs(endpoint_url: str, region: str) -> SQSClient:
    return emulator_session(region).client("sqs", endpoint_url=endpoint_url, config=_CLIENT_CONFIG)


def queue_overview(endpoint_url: str, *, region: str = DEFAULT_REGION) -> list[QueueStatus]:
    """Every queue of a region with its message counts and dead-letter relations, by name."""
    sqs = _sqs(endpoint_url, region)
    try:
        queue_urls = [url for page in sqs.get_paginator("list_queues").paginate() for url in page.get("QueueUrls", [])]
        attributes = {
            url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"] for url in queue_urls
        }
    except EndpointConnectionError as error:
        raise _unreachable(endpoint_url, error) from error
    names_by_arn = {values["QueueArn"]: _queue_name(url) for url, values in attributes.items()}
    targets: dict[str, tuple[str, int]] = {}
    for url, values in attributes.items():
        policy = _redrive_policy(values.get("RedrivePolicy"))
        if policy is not None:
            target_arn, max_receive_count = policy
            targets[_queue_name(url)] = (names_by_arn.get(target_arn, target_arn.rsplit(":", 1)[-1]), max_receive_count)
    statuses = []
    for url, values in attributes.items():
        name = _queue_name(url)
        target = targets.get(name)
        statuses.append(
            QueueStatus(
                name=name,
                url=url,
                arn=values["QueueArn"],
                visible=int(values.get("ApproximateNumberOfMessages", "0")),
                in_flight=int(values.get("ApproximateNumberOfMessagesNotVisible", "0")),
                delayed=int(values.get("ApproximateNumberOfMessagesDelayed", "0")),
                fifo=values.get("FifoQueue", "false") == "true",
                dead_letter_sources=tuple(sorted(source for source, (dlq, _) in targets.items() if dlq == name)),
                dead_letter_target=target[0] if target else None,
                max_receive_count=target[1] if target else None,
            )
        )
    return sorted(statuses, key=lambda status: status.name)


def _queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _redrive_policy(policy_text: str | None) -> tuple[str, int] | None:
    if not policy_text:
        return None
    try:
        policy = json.loads(policy_text)
        return str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"])
    except (ValueError, KeyError, TypeError):
        return None


def redrive_dlq(
    endpoint_url: str,
    dlq_name_or_url: str,
    *,
    region: str = DEFAULT_REGION,
    destination: str | None = None,
) -> int:
    """Move the messages of a dead-letter queue back to its source queue; how many moved.

    moto 5.2.5 has no StartMessageMoveTask, so this receives, sends, and deletes only what was
    sent: a failure leaves a message in both queues, never in neither. `destination` (a name or
    URL) is needed only when several queues use this DLQ. Messages that arrive in the DLQ while
    this runs are left for the next redrive.
    """
    sqs = _sqs(endpoint_url, region)
    try:
        dlq_url = _queue_url(sqs, dlq_name_or_url)
        target_url = _redrive_target(sqs, dlq_url, destination)
        if target_url == dlq_url:
            raise NotADeadLetterQueueError(
                f"queue {_queue_name(dlq_url)} is its own dead-letter queue; nothing to move"
            )
        waiting = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        budget = int(waiting["Attributes"].get("ApproximateNumberOfMessages", "0"))
        moved = 0
        while moved < budget:
            batch = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=min(10, budget - moved),
                WaitTimeSeconds=0,
                VisibilityTimeout=_REDRIVE_VISIBILITY_S,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            moved += _move_batch(sqs, dlq_url, target_url, batch, moved)
    except EndpointConnectionError as error:
        raise _unreachable(endpoint_url, error) from error
    return moved


def _queue_url(sqs: SQSClient, name_or_url: str) -> str:
    name = _queue_name(name_or_url) if "/" in name_or_url else name_or_url
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist as error:
        raise QueueNotFoundError(f"no queue named {name}") from error


def _redrive_target(sqs: SQSClient, dlq_url: str, destination: str | None) -> str:
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    source_names = sorted(_queue_name(url) for url in sources)
    dlq_name = _queue_name(dlq_url)
    if not sources:
        raise NotADeadLetterQueueError(f"queue {dlq_name} is not the dead-letter queue of any queue")
    if destination is not None:
        target_url = _queue_url(sqs, destination)
        if _queue_name(target_url) not in source_names:
            raise NotADeadLetterQueueError(
                f"queue {dlq_name} is the dead-letter queue of {', '.join(source_names)}, not of {destination}"
            )
        return target_url
    if len(sources) > 1:
        raise NotADeadLetterQueueError(
            f"queue {dlq_name} is the dead-letter queue of {', '.join(source_names)}; choose one as the destination"
        )
    return sources[0]


def _move_batch(
    sqs: SQSClient, dlq_url: str, target_url: str, batch: Sequence[MessageTypeDef], moved_before: int
) -> int:
    entries = [_resend_entry(str(index), message) for index, message in enumerate(batch)]
    answer = sqs.send_message_batch(QueueUrl=target_url, Entries=entries)
    sent_ids = {entry["Id"] for entry in answer.get("Successful", [])}
    to_delete: list[DeleteMessageBatchRequestEntryTypeDef] = [
        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
        for index, message in enumerate(batch)
        if str(index) in sent_ids
    ]
    if to_delete:
        deleted = sqs.delete_message_batch(QueueUrl=dlq_url, Entries=to_delete)
        if deleted.get("Failed"):
            raise RedriveError(
                f"{len(deleted['Failed'])} messages were copied to {_queue_name(target_url)} but could not be "
                f"deleted from {_queue_name(dlq_url)} (they are now in both); {moved_before} moved before"
            )
    failed = answer.get("Failed", [])
    if failed:
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(batch)
                if str(index) not in sent_ids
            ],
        )
        raise RedriveError(
            f"{len(failed)} messages could not be sent to {_queue_name(target_url)} ({failed[0].get('Message', '')}) "
            f"and stay in {_queue_name(dlq_url)}; {moved_before + len(to_delete)} moved"
        )
    return len(to_delete)


def _resend_entry(entry_id: str, message: MessageTypeDef) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message.get("Body", "")}
    attributes = message.get("MessageAttributes")
    if attributes:
        entry["MessageAttributes"] = attributes
    system = message.get("Attributes", {})
    if "AWSTraceHeader" in system:
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": system["AWSTraceHeader"]}
        }
    if "MessageGroupId" in system:
        entry["MessageGroupId"] = system["MessageGroupId"]
    if "MessageDeduplicationId" in system:
        entry["MessageDeduplicationId"] = system["MessageDeduplicationId"]
    return entry


def tail_logs(
    endpoint_url: str,
    function_name: str,
    *,
    region: str = DEFAULT_REGION,
    since: datetime | None = None,
    follow: bool = False,
    poll_interval_s: float = 1.0,
) -> Generator[LogEvent]:
    """The log events of a function from `since` on, oldest first; with `follow`, waits for more.

    A follow ends only when the caller stops iterating (closes the generator).
    """
    logs = emulator_session(region).client("logs", endpoint_url=endpoint_url, config=_CLIENT_CONFIG)
    group = f"{LAMBDA_LOG_GROUP_PREFIX}{function_name}"
    since_ms = int(since.timestamp() * 1000) if since else 0
    newest_ms = since_ms
    seen: dict[str, int] = {}
    while True:
        start_ms = since_ms if not seen else max(since_ms, newest_ms - _FOLLOW_LOOKBACK_MS)
        events = _events_from(logs, endpoint_url, group, start_ms, missing_ok=follow)
        for event in events:
            if event.event_id in seen:
                continue
            seen[event.event_id] = _epoch_ms(event.timestamp)
            yield event
        if seen:
            newest_ms = max(newest_ms, *seen.values())
            seen = {event_id: ms for event_id, ms in seen.items() if ms >= newest_ms - _FOLLOW_LOOKBACK_MS}
        if not follow:
            return
        time.sleep(poll_interval_s)


def _events_from(
    logs: CloudWatchLogsClient, endpoint_url: str, group: str, start_ms: int, *, missing_ok: bool
) -> list[LogEvent]:
    events: list[LogEvent] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start_ms):
            events.extend(
                LogEvent(
                    timestamp=datetime.fromtimestamp(event.get("timestamp", 0) / 1000, tz=UTC),
                    stream=event.get("logStreamName", ""),
                    message=event.get("message", ""),
                    event_id=event.get("eventId", ""),
                )
                for event in page.get("events", [])
            )
    except logs.exceptions.ResourceNotFoundException as error:
        if missing_ok:
            return []
        raise LogGroupNotFoundError(
            f"no log group {group}: the function has not run yet, or its name is not {group.rsplit('/', 1)[-1]}"
        ) from error
    except EndpointConnectionError as error:
        raise _unreachable(endpoint_url, error) from error
    # A stable sort keeps the order of one stream's events logged within the same millisecond.
    return sorted(events, key=lambda event: event.timestamp)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
