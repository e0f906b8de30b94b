"""The emulator's data saved to a file on stop and put back on start.

moto's own recorder replays requests, so ids change and consumed messages or sent mail come back;
this module instead copies what the services hold. Whatever a public API can read and write
exactly goes through boto3 against the emulator (table items and definitions, queue definitions,
identities, secret values, log events): that shape is AWS's and does not move with moto releases.
What no API can read without changing it, or write at all, is copied from moto's in-process
backends: queued messages (a receive would bump their receive counts), sent mail, and raw metric
samples (the API only returns aggregates). Resources that provisioning already created are
reused by name; the rest are created from the saved definitions.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import BotoCoreError, ClientError
from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.ses.models import Message as SesMessage
from moto.ses.models import RawMessage as SesRawMessage
from moto.ses.models import TemplateMessage as SesTemplateMessage
from moto.ses.models import ses_backends
from moto.sqs.models import Message as SqsMessage
from moto.sqs.models import Queue, sqs_backends

from localcloud.emulator import Emulator, emulator_account_id, emulator_session
from localcloud.mailbox import MailDetails

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDatumTypeDef
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

STATE_FORMAT = "localcloud-state"
STATE_VERSION = 1
DEFAULT_LOG_EVENTS_PER_STREAM = 1000
# Queue attributes that CreateQueue accepts; the others are counters and timestamps.
SETTABLE_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
)
_DYNAMODB_BATCH = 25
_METRIC_BATCH = 500
_LOG_EVENT_BATCH = 1000


class StateFileError(Exception):
    """A state file that cannot be read back: unreadable, corrupt, or of another format version."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"state file {path}: {reason}")
        self.path = path


class StateRestoreError(Exception):
    """The emulator refused part of a state file while it was being restored."""

    def __init__(self, path: Path, what: str, error: Exception) -> None:
        super().__init__(f"state file {path}: restoring {what} failed: {error}")
        self.path = path


class RefusedWriteError(Exception):
    """A service accepted a write request but not all that it carried."""


@dataclass(frozen=True)
class TableState:
    """A DynamoDB table: its CreateTable arguments and its items (boto3's attribute-value form)."""

    definition: dict[str, Any]
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class QueuedMessage:
    """One SQS message with the counters a receive would change."""

    id: str
    body: str
    message_attributes: dict[str, dict[str, Any]]
    system_attributes: dict[str, dict[str, Any]]
    sender_id: str
    sent_timestamp_ms: int
    first_receive_timestamp_ms: int | None
    receive_count: int
    group_id: str | None
    deduplication_id: str | None
    sequence_number: str | None
    # Epoch milliseconds before which the message stays delayed; 0 when it was never delayed.
    delayed_until_ms: float


@dataclass(frozen=True)
class QueueState:
    """An SQS queue: its settable attributes and its messages in queue order."""

    name: str
    attributes: dict[str, str]
    messages: list[QueuedMessage]


@dataclass(frozen=True)
class SentMailState:
    """One message of SES's sent mail, as moto holds it, with what the mail log recorded."""

    kind: Literal["simple", "raw", "templated"]
    id: str
    source: str
    # A dict of ToAddresses/CcAddresses/BccAddresses, or a list for raw and bulk sends.
    destinations: Any
    subject: str | None = None
    body: str | None = None
    raw_data: str | None = None
    template: str | None = None
    template_data: str | None = None
    details: MailDetails | None = None


@dataclass(frozen=True)
class SecretState:
    """A Secrets Manager secret and its current value."""

    name: str
    description: str | None
    string_value: str | None
    binary_value: bytes | None


@dataclass(frozen=True)
class MetricSample:
    """One CloudWatch sample: a single value, or statistics published together."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    timestamp: datetime
    unit: str | None
    value: float | None
    # Sum, Minimum, Maximum, SampleCount: set instead of value for a statistic set.
    statistics: dict[str, float] | None = None


@dataclass(frozen=True)
class LogStreamState:
    """A log stream and its latest events as (epoch milliseconds, message), oldest first."""

    name: str
    events: list[tuple[int, str]]


@dataclass(frozen=True)
class LogGroupState:
    """A CloudWatch Logs group."""

    name: str
    retention_days: int | None
    streams: list[LogStreamState]


@dataclass(frozen=True)
class StateSnapshot:
    """Everything a state file holds."""

    saved_at: datetime
    account_id: str
    region: str
    tables: list[TableState] = field(default_factory=list)
    queues: list[QueueState] = field(default_factory=list)
    email_identities: list[str] = field(default_factory=list)
    sent_mail: list[SentMailState] = field(default_factory=list)
    secrets: list[SecretState] = field(default_factory=list)
    metrics: list[MetricSample] = field(default_factory=list)
    log_groups: list[LogGroupState] = field(default_factory=list)


@dataclass(frozen=True)
class StateSummary:
    """How much a save or a restore carried."""

    tables: int
    items: int
    queues: int
    messages: int
    email_identities: int
    sent_mail: int
    secrets: int
    metric_samples: int
    log_events: int
    # Restore only: events CloudWatch Logs refused, being older than its 14-day window.
    rejected_log_events: int = 0


def save_state(
    emulator: Emulator,
    path: Path,
    *,
    region: str,
    log_events_per_stream: int = DEFAULT_LOG_EVENTS_PER_STREAM,
) -> StateSummary:
    """Write the emulator's data for one region to `path`, atomically.

    Call it with the emulator running and nothing else writing to it (functions stopped), so the
    snapshot is consistent.
    """
    snapshot = capture_state(emulator, region=region, log_events_per_stream=log_events_per_stream)
    write_state_file(path, snapshot)
    return summarize(snapshot)


def restore_state(emulator: Emulator, path: Path, *, region: str) -> StateSummary:
    """Put the data of a state file back into a freshly started (and provisioned) emulator."""
    snapshot = read_state_file(path)
    account_id = emulator_account_id()
    if (snapshot.account_id, snapshot.region) != (account_id, region):
        raise StateFileError(
            path,
            f"saved for account {snapshot.account_id} in {snapshot.region}, but the emulator runs account "
            f"{account_id} in {region}; delete the file to start empty",
        )
    rejected = apply_state(emulator, snapshot, path)
    return dataclasses.replace(summarize(snapshot), rejected_log_events=rejected)


def reset_state(path: Path) -> bool:
    """Delete a state file so that the next start is empty; whether there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def summarize(snapshot: StateSnapshot) -> StateSummary:
    """Counts of what a snapshot holds."""
    return StateSummary(
        tables=len(snapshot.tables),
        items=sum(len(table.items) for table in snapshot.tables),
        queues=len(snapshot.queues),
        messages=sum(len(queue.messages) for queue in snapshot.queues),
        email_identities=len(snapshot.email_identities),
        sent_mail=len(snapshot.sent_mail),
        secrets=len(snapshot.secrets),
        metric_samples=len(snapshot.metrics),
        log_events=sum(len(stream.events) for group in snapshot.log_groups for stream in group.streams),
    )


# Capture ------------------------------------------------------------------------------------


def capture_state(
    emulator: Emulator, *, region: str, log_events_per_stream: int = DEFAULT_LOG_EVENTS_PER_STREAM
) -> StateSnapshot:
    """Copy what the emulator holds for one region."""
    if not emulator.running:
        raise RuntimeError("the emulator must be running to save its state")
    if not 1 <= log_events_per_stream <= 10_000:
        raise ValueError(f"log_events_per_stream must be between 1 and 10000, got {log_events_per_stream}")
    account_id = emulator_account_id()
    session = emulator_session(region)
    return StateSnapshot(
        saved_at=datetime.now(UTC),
        account_id=account_id,
        region=region,
        tables=_capture_tables(session, emulator.url),
        queues=_capture_queues(session, emulator.url, account_id, region),
        email_identities=_capture_identities(session, emulator.url),
        sent_mail=_capture_sent_mail(emulator, account_id, region),
        secrets=_capture_secrets(session.client("secretsmanager", endpoint_url=emulator.url)),
        metrics=_capture_metrics(account_id, region),
        log_groups=_capture_logs(session.client("logs", endpoint_url=emulator.url), log_events_per_stream),
    )


def _capture_tables(session: boto3.Session, url: str) -> list[TableState]:
    dynamodb = session.client("dynamodb", endpoint_url=url)
    tables = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        for table_name in page["TableNames"]:
            description = dynamodb.describe_table(TableName=table_name)["Table"]
            items: list[dict[str, Any]] = []
            for scan_page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
                items.extend(scan_page["Items"])
            tables.append(TableState(definition=create_table_arguments(description), items=items))
    return tables


def create_table_arguments(description: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable arguments that rebuild the table DescribeTable describes."""
    provisioned = description.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    arguments: dict[str, Any] = {
        "TableName": description["TableName"],
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
    }
    if provisioned:
        arguments["ProvisionedThroughput"] = _throughput(description["ProvisionedThroughput"])
    global_indexes = [
        {
            "IndexName": index["IndexName"],
            "KeySchema": index["KeySchema"],
            "Projection": index["Projection"],
            **({"ProvisionedThroughput": _throughput(index["ProvisionedThroughput"])} if provisioned else {}),
        }
        for index in description.get("GlobalSecondaryIndexes", [])
    ]
    if global_indexes:
        arguments["GlobalSecondaryIndexes"] = global_indexes
    local_indexes = [
        {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
        for index in description.get("LocalSecondaryIndexes", [])
    ]
    if local_indexes:
        arguments["LocalSecondaryIndexes"] = local_indexes
    stream = description.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return arguments


def _throughput(throughput: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": max(1, int(throughput.get("ReadCapacityUnits", 1))),
        "WriteCapacityUnits": max(1, int(throughput.get("WriteCapacityUnits", 1))),
    }


def _capture_queues(session: boto3.Session, url: str, account_id: str, region: str) -> list[QueueState]:
    sqs = session.client("sqs", endpoint_url=url)
    backend = sqs_backends[account_id][region]
    queues = []
    for page in sqs.get_paginator("list_queues").paginate():
        for queue_url in page.get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
            name = queue_url.rstrip("/").rsplit("/", 1)[-1]
            queues.append(
                QueueState(
                    name=name,
                    attributes={key: value for key, value in attributes.items() if key in SETTABLE_QUEUE_ATTRIBUTES},
                    messages=[_queued_message(message) for message in _messages_of(backend.get_queue(name))],
                )
            )
    return queues


def _messages_of(queue: Queue) -> list[SqsMessage]:
    # moto's public `messages` leaves out in-flight and delayed messages; all of them are saved.
    with queue._messages_lock:
        return list(queue._messages)


def _queued_message(message: SqsMessage) -> QueuedMessage:
    # An in-flight message is saved like any other and comes back visible: the consumer that
    # received it lives in the stopped process and will never delete it or extend its visibility.
    return QueuedMessage(
        id=message.id,
        body=message.body,
        message_attributes=dict(message.message_attributes),
        system_attributes=dict(message.system_attributes or {}),
        sender_id=message.sender_id,
        sent_timestamp_ms=int(message.sent_timestamp or 0),
        first_receive_timestamp_ms=message.approximate_first_receive_timestamp,
        receive_count=message.approximate_receive_count,
        group_id=message.group_id,
        deduplication_id=message.deduplication_id,
        sequence_number=message.sequence_number,
        delayed_until_ms=float(message.delayed_until),
    )


def _capture_identities(session: boto3.Session, url: str) -> list[str]:
    return _email_identities(session.client("sesv2", endpoint_url=url))


def _email_identities(sesv2: SESV2Client) -> list[str]:
    # boto3 has no paginator for ListEmailIdentities.
    identities: list[str] = []
    next_token: str | None = None
    while True:
        page = sesv2.list_email_identities(NextToken=next_token) if next_token else sesv2.list_email_identities()
        identities.extend(identity["IdentityName"] for identity in page.get("EmailIdentities", []))
        next_token = page.get("NextToken")
        if not next_token:
            return identities


def _capture_sent_mail(emulator: Emulator, account_id: str, region: str) -> list[SentMailState]:
    sent = []
    for message in list(ses_backends[account_id][region].sent_messages):
        details = emulator.mail_log.get(message.id)
        if isinstance(message, SesMessage):
            sent.append(
                SentMailState(
                    kind="simple",
                    id=message.id,
                    source=message.source,
                    destinations=message.destinations,
                    subject=message.subject,
                    body=message.body,
                    details=details,
                )
            )
        elif isinstance(message, SesRawMessage):
            sent.append(
                SentMailState(
                    kind="raw",
                    id=message.id,
                    source=message.source,
                    destinations=message.destinations,
                    raw_data=message.raw_data,
                    details=details,
                )
            )
        elif isinstance(message, SesTemplateMessage):
            sent.append(
                SentMailState(
                    kind="templated",
                    id=message.id,
                    source=message.source,
                    destinations=message.destinations,
                    template=message.template,
                    template_data=message.template_data,
                    details=details,
                )
            )
        else:
            raise TypeError(f"unexpected kind of sent mail in moto: {type(message).__name__}")
    return sent


def _capture_secrets(secrets: SecretsManagerClient) -> list[SecretState]:
    saved = []
    for page in secrets.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            value = _current_secret_value(secrets, entry["ARN"])
            saved.append(
                SecretState(
                    name=entry["Name"],
                    description=entry.get("Description"),
                    string_value=value.get("SecretString"),
                    binary_value=value.get("SecretBinary"),
                )
            )
    return saved


def _capture_metrics(account_id: str, region: str) -> list[MetricSample]:
    samples = []
    for datum in list(cloudwatch_backends[account_id][region].metric_data):
        dimensions = tuple((str(dimension.name), str(dimension.value)) for dimension in datum.dimensions)
        timestamp = _as_utc(datum.timestamp)
        if isinstance(datum, MetricDatum):
            samples.append(
                MetricSample(datum.namespace, datum.name, dimensions, timestamp, datum.unit, float(datum.value))
            )
        elif isinstance(datum, MetricAggregatedDatum):
            statistics = {
                "Sum": float(datum.sum),
                "Minimum": float(datum.min),
                "Maximum": float(datum.max),
                "SampleCount": float(datum.sample_count),
            }
            samples.append(
                MetricSample(datum.namespace, datum.name, dimensions, timestamp, datum.unit, None, statistics)
            )
        else:
            raise TypeError(f"unexpected kind of metric datum in moto: {type(datum).__name__}")
    return samples


def _as_utc(moment: datetime) -> datetime:
    # moto keeps metric timestamps as naive UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _capture_logs(logs: CloudWatchLogsClient, events_per_stream: int) -> list[LogGroupState]:
    groups = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            group_name = group["logGroupName"]
            streams = []
            for stream_page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group_name):
                for stream in stream_page["logStreams"]:
                    stream_name = stream["logStreamName"]
                    latest = logs.get_log_events(
                        logGroupName=group_name, logStreamName=stream_name, startFromHead=False, limit=events_per_stream
                    )["events"]
                    events = [(int(event["timestamp"]), str(event["message"])) for event in latest]
                    streams.append(LogStreamState(stream_name, sorted(events, key=lambda event: event[0])))
            groups.append(LogGroupState(group_name, group.get("retentionInDays"), streams))
    return groups


# Restore ------------------------------------------------------------------------------------


def apply_state(emulator: Emulator, snapshot: StateSnapshot, path: Path) -> int:
    """Put a snapshot into the running emulator; the number of log events CloudWatch refused."""
    if not emulator.running:
        raise RuntimeError("the emulator must be running to restore its state")
    session = emulator_session(snapshot.region)
    url = emulator.url
    with _restoring(path, "DynamoDB tables"):
        _restore_tables(session.client("dynamodb", endpoint_url=url), snapshot.tables)
    with _restoring(path, "SQS queues"):
        _restore_queues(session.client("sqs", endpoint_url=url), snapshot)
    with _restoring(path, "SES mail"):
        _restore_mail(emulator, session.client("sesv2", endpoint_url=url), snapshot)
    with _restoring(path, "Secrets Manager secrets"):
        _restore_secrets(session.client("secretsmanager", endpoint_url=url), snapshot.secrets)
    with _restoring(path, "CloudWatch metrics"):
        _restore_metrics(session.client("cloudwatch", endpoint_url=url), snapshot.metrics)
    with _restoring(path, "CloudWatch Logs events"):
        return _restore_logs(session.client("logs", endpoint_url=url), snapshot.log_groups)


@contextlib.contextmanager
def _restoring(path: Path, what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, RefusedWriteError) as error:
        raise StateRestoreError(path, what, error) from error


def _restore_tables(dynamodb: DynamoDBClient, tables: Sequence[TableState]) -> None:
    existing: set[str] = set()
    for page in dynamodb.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    for table in tables:
        table_name = table.definition["TableName"]
        if table_name not in existing:
            dynamodb.create_table(**table.definition)
        for start in range(0, len(table.items), _DYNAMODB_BATCH):
            batch = table.items[start : start + _DYNAMODB_BATCH]
            answer = dynamodb.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": i}} for i in batch]})
            if answer.get("UnprocessedItems"):
                raise RefusedWriteError(f"DynamoDB did not write every item of table {table_name}")


def _restore_queues(sqs: SQSClient, snapshot: StateSnapshot) -> None:
    existing = {
        queue_url.rstrip("/").rsplit("/", 1)[-1]
        for page in sqs.get_paginator("list_queues").paginate()
        for queue_url in page.get("QueueUrls", [])
    }
    missing = [queue for queue in snapshot.queues if queue.name not in existing]
    # A redrive policy names its dead-letter queue, which must exist first: create every queue,
    # then attach the policies.
    for queue in missing:
        attributes = {key: value for key, value in queue.attributes.items() if key != "RedrivePolicy"}
        sqs.create_queue(QueueName=queue.name, Attributes=cast("dict[QueueAttributeNameType, str]", attributes))
    for queue in missing:
        if "RedrivePolicy" in queue.attributes:
            queue_url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            sqs.set_queue_attributes(
                QueueUrl=queue_url, Attributes={"RedrivePolicy": queue.attributes["RedrivePolicy"]}
            )
    backend = sqs_backends[snapshot.account_id][snapshot.region]
    for queue in snapshot.queues:
        _put_back_messages(backend.get_queue(queue.name), queue.messages)


def _put_back_messages(queue: Queue, messages: Sequence[QueuedMessage]) -> None:
    with queue._messages_lock:
        present = {message.id for message in queue._messages}
    for saved in messages:
        if saved.id in present:
            continue
        message = SqsMessage(saved.id, saved.body, saved.system_attributes or None)
        message.message_attributes = saved.message_attributes
        message.sender_id = saved.sender_id
        message.sent_timestamp = saved.sent_timestamp_ms  # type: ignore[assignment]
        message.approximate_first_receive_timestamp = saved.first_receive_timestamp_ms
        message.approximate_receive_count = saved.receive_count
        message.group_id = saved.group_id
        message.deduplication_id = saved.deduplication_id
        message.sequence_number = saved.sequence_number
        message.delayed_until = saved.delayed_until_ms
        queue.add_message(message)


def _restore_mail(emulator: Emulator, sesv2: SESV2Client, snapshot: StateSnapshot) -> None:
    existing = set(_email_identities(sesv2))
    for identity in snapshot.email_identities:
        if identity not in existing:
            sesv2.create_email_identity(EmailIdentity=identity)
    backend = ses_backends[snapshot.account_id][snapshot.region]
    present = {message.id for message in list(backend.sent_messages)}
    for saved in snapshot.sent_mail:
        if saved.details is not None:
            emulator.mail_log.record(saved.id, saved.details)
        if saved.id not in present:
            backend.sent_messages.append(_moto_sent_message(saved))


def _moto_sent_message(saved: SentMailState) -> object:
    if saved.kind == "simple":
        return SesMessage(saved.id, saved.source, saved.subject or "", saved.body or "", saved.destinations)
    if saved.kind == "raw":
        return SesRawMessage(saved.id, saved.source, saved.destinations, saved.raw_data or "")
    return SesTemplateMessage(
        saved.id, saved.source, saved.template or "", saved.template_data or "", saved.destinations
    )


def _restore_secrets(secrets: SecretsManagerClient, saved_secrets: Sequence[SecretState]) -> None:
    for saved in saved_secrets:
        value: dict[str, Any] = {}
        if saved.string_value is not None:
            value["SecretString"] = saved.string_value
        if saved.binary_value is not None:
            value["SecretBinary"] = saved.binary_value
        try:
            secrets.describe_secret(SecretId=saved.name)
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=saved.name, Description=saved.description or "", **value)
            continue
        if value and _current_secret_value(secrets, saved.name) != value:
            secrets.put_secret_value(SecretId=saved.name, **value)


def _current_secret_value(secrets: SecretsManagerClient, secret_id: str) -> dict[str, Any]:
    try:
        answer = secrets.get_secret_value(SecretId=secret_id)
    except secrets.exceptions.ResourceNotFoundException:
        # A secret created without a value has none to keep or compare.
        return {}
    value: dict[str, Any] = {}
    if "SecretString" in answer:
        value["SecretString"] = answer["SecretString"]
    if "SecretBinary" in answer:
        value["SecretBinary"] = answer["SecretBinary"]
    return value


def _restore_metrics(cloudwatch: CloudWatchClient, samples: Sequence[MetricSample]) -> None:
    by_namespace: dict[str, list[MetricDatumTypeDef]] = {}
    for sample in samples:
        by_namespace.setdefault(sample.namespace, []).append(_metric_datum(sample))
    for namespace, data in by_namespace.items():
        for start in range(0, len(data), _METRIC_BATCH):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + _METRIC_BATCH])


def _metric_datum(sample: MetricSample) -> MetricDatumTypeDef:
    datum: MetricDatumTypeDef = {
        "MetricName": sample.name,
        "Dimensions": [{"Name": name, "Value": value} for name, value in sample.dimensions],
        "Timestamp": sample.timestamp,
    }
    if sample.unit:
        datum["Unit"] = sample.unit  # type: ignore[typeddict-item]
    if sample.statistics is not None:
        datum["StatisticValues"] = {
            "Sum": sample.statistics["Sum"],
            "Minimum": sample.statistics["Minimum"],
            "Maximum": sample.statistics["Maximum"],
            "SampleCount": sample.statistics["SampleCount"],
        }
    else:
        datum["Value"] = sample.value if sample.value is not None else 0.0
    return datum


def _restore_logs(logs: CloudWatchLogsClient, groups: Sequence[LogGroupState]) -> int:
    existing_groups = {
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for group in page["logGroups"]
    }
    rejected = 0
    for group in groups:
        if group.name not in existing_groups:
            logs.create_log_group(logGroupName=group.name)
            if group.retention_days:
                logs.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
        existing_streams = {
            stream["logStreamName"]
            for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group.name)
            for stream in page["logStreams"]
        }
        for stream in group.streams:
            if stream.name not in existing_streams:
                logs.create_log_stream(logGroupName=group.name, logStreamName=stream.name)
            rejected += _put_log_events(logs, group.name, stream)
    return rejected


def _put_log_events(logs: CloudWatchLogsClient, group_name: str, stream: LogStreamState) -> int:
    rejected = 0
    for start in range(0, len(stream.events), _LOG_EVENT_BATCH):
        batch = stream.events[start : start + _LOG_EVENT_BATCH]
        answer = logs.put_log_events(
            logGroupName=group_name,
            logStreamName=stream.name,
            logEvents=[{"timestamp": timestamp, "message": message} for timestamp, message in batch],
        )
        refused = answer.get("rejectedLogEventsInfo", {})
        if "tooOldLogEventEndIndex" in refused:
            rejected += refused["tooOldLogEventEndIndex"] + 1
        if "tooNewLogEventStartIndex" in refused:
            rejected += len(batch) - refused["tooNewLogEventStartIndex"]
    return rejected


# The file -----------------------------------------------------------------------------------


def write_state_file(path: Path, snapshot: StateSnapshot) -> None:
    """Write a snapshot as JSON so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot_to_json(snapshot), ensure_ascii=False, separators=(",", ":"))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def read_state_file(path: Path) -> StateSnapshot:
    """Read and check a whole state file; StateFileError names the file and the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StateFileError(path, f"cannot be read: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise StateFileError(path, f"is not UTF-8 text: {error}") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateFileError(path, f"is not valid JSON ({error}); delete it to start empty") from error
    try:
        return snapshot_from_json(document)
    except MalformedStateError as error:
        raise StateFileError(path, f"{error}; delete it to start empty") from error


class MalformedStateError(Exception):
    """A field of a state document that is missing or of the wrong type."""


def snapshot_to_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """The JSON document of a snapshot."""
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "saved_at": snapshot.saved_at.isoformat(),
        "account_id": snapshot.account_id,
        "region": snapshot.region,
        "dynamodb": {
            "tables": [
                {"definition": table.definition, "items": [_item_to_json(item) for item in table.items]}
                for table in snapshot.tables
            ]
        },
        "sqs": {"queues": [_queue_to_json(queue) for queue in snapshot.queues]},
        "ses": {
            "identities": snapshot.email_identities,
            "sent": [_sent_mail_to_json(mail) for mail in snapshot.sent_mail],
        },
        "secretsmanager": {"secrets": [_secret_to_json(secret) for secret in snapshot.secrets]},
        "cloudwatch": {"samples": [_metric_to_json(sample) for sample in snapshot.metrics]},
        "logs": {"groups": [_log_group_to_json(group) for group in snapshot.log_groups]},
    }


def snapshot_from_json(document: object) -> StateSnapshot:
    """A snapshot from its JSON document; MalformedStateError on the first bad field."""
    root = _Fields(document, "the document")
    file_format = root.raw("format")
    if file_format != STATE_FORMAT:
        raise MalformedStateError(f"is not a localcloud state file (format {file_format!r})")
    version = root.raw("version")
    if version != STATE_VERSION:
        raise MalformedStateError(f"has format version {version!r}; this localcloud reads version {STATE_VERSION}")
    return StateSnapshot(
        saved_at=root.timestamp("saved_at"),
        account_id=root.text("account_id"),
        region=root.text("region"),
        tables=[_table_from_json(table) for table in root.child("dynamodb").objects("tables")],
        queues=[_queue_from_json(queue) for queue in root.child("sqs").objects("queues")],
        email_identities=root.child("ses").texts("identities"),
        sent_mail=[_sent_mail_from_json(mail) for mail in root.child("ses").objects("sent")],
        secrets=[_secret_from_json(secret) for secret in root.child("secretsmanager").objects("secrets")],
        metrics=[_metric_from_json(sample) for sample in root.child("cloudwatch").objects("samples")],
        log_groups=[_log_group_from_json(group) for group in root.child("logs").objects("groups")],
    )


class _Fields:
    """A JSON object of the state document, with typed accessors that name a bad field."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise MalformedStateError(f"{where} should be an object")
        self._value: dict[str, object] = value
        self.where = where

    def raw(self, key: str) -> object:
        if key not in self._value:
            raise MalformedStateError(f"{self.where}: {key} is missing")
        return self._value[key]

    def _typed[T](self, key: str, kind: type[T], description: str) -> T:
        value = self.raw(key)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise MalformedStateError(f"{self.where}: {key} should be {description}")
        return value

    def text(self, key: str) -> str:
        return self._typed(key, str, "a string")

    def optional_text(self, key: str) -> str | None:
        return None if self.raw(key) is None else self.text(key)

    def integer(self, key: str) -> int:
        return self._typed(key, int, "an integer")

    def optional_integer(self, key: str) -> int | None:
        return None if self.raw(key) is None else self.integer(key)

    def number(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedStateError(f"{self.where}: {key} should be a number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self.raw(key) is None else self.number(key)

    def timestamp(self, key: str) -> datetime:
        try:
            moment = datetime.fromisoformat(self.text(key))
        except ValueError as error:
            raise MalformedStateError(f"{self.where}: {key} should be an ISO 8601 timestamp") from error
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def binary(self, key: str) -> bytes:
        return _decode_base64(self.text(key), f"{self.where}: {key}")

    def optional_binary(self, key: str) -> bytes | None:
        return None if self.raw(key) is None else self.binary(key)

    def mapping(self, key: str) -> dict[str, Any]:
        return self._typed(key, dict, "an object")

    def child(self, key: str) -> _Fields:
        return _Fields(self.raw(key), f"{self.where}.{key}" if self.where != "the document" else key)

    def optional_child(self, key: str) -> _Fields | None:
        return None if self.raw(key) is None else self.child(key)

    def objects(self, key: str) -> list[_Fields]:
        values = self.values(key)
        prefix = f"{self.where}.{key}" if self.where != "the document" else key
        return [_Fields(value, f"{prefix}[{index}]") for index, value in enumerate(values)]

    def values(self, key: str) -> list[object]:
        return self._typed(key, list, "a list")

    def entries(self) -> list[tuple[str, object]]:
        return list(self._value.items())

    def texts(self, key: str) -> list[str]:
        texts = [value for value in self.values(key) if isinstance(value, str)]
        if len(texts) != len(self.values(key)):
            raise MalformedStateError(f"{self.where}: {key} should be a list of strings")
        return texts


def _decode_base64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedStateError(f"{where} is not valid base64") from error


def _encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_BINARY_ATTRIBUTE_TYPES = {"B", "BS"}
_DYNAMODB_ATTRIBUTE_TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def _item_to_json(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attribute_to_json(value) for name, value in item.items()}


def _attribute_to_json(value: Mapping[str, Any]) -> dict[str, Any]:
    ((type_name, content),) = value.items()
    if type_name == "B":
        return {"B": _encode_base64(content)}
    if type_name == "BS":
        return {"BS": [_encode_base64(member) for member in content]}
    if type_name == "L":
        return {"L": [_attribute_to_json(member) for member in content]}
    if type_name == "M":
        return {"M": _item_to_json(content)}
    return {type_name: content}


def _item_from_json(document: object, where: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise MalformedStateError(f"{where} should be an object of attribute values")
    return {name: _attribute_from_json(value, f"{where}.{name}") for name, value in document.items()}


def _attribute_from_json(document: object, where: str) -> dict[str, Any]:
    if not isinstance(document, dict) or len(document) != 1 or next(iter(document)) not in _DYNAMODB_ATTRIBUTE_TYPES:
        raise MalformedStateError(f"{where} should be a DynamoDB attribute value such as {{'S': 'text'}}")
    ((type_name, content),) = document.items()
    if type_name == "B":
        return {"B": _decode_base64(str(content), where)}
    if type_name == "BS":
        return {"BS": [_decode_base64(str(member), where) for member in _as_list(content, where)]}
    if type_name == "L":
        return {
            "L": [_attribute_from_json(member, f"{where}[{i}]") for i, member in enumerate(_as_list(content, where))]
        }
    if type_name == "M":
        return {"M": _item_from_json(content, where)}
    return {type_name: content}


def _as_list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise MalformedStateError(f"{where} should be a list")
    return value


def _table_from_json(table: _Fields) -> TableState:
    definition = table.mapping("definition")
    if not isinstance(definition.get("TableName"), str):
        raise MalformedStateError(f"{table.where}: definition.TableName should be a string")
    items = table.values("items")
    return TableState(
        definition=definition,
        items=[_item_from_json(item, f"{table.where}.items[{index}]") for index, item in enumerate(items)],
    )


def _message_attributes_to_json(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            key: _encode_base64(bytes(content)) if isinstance(content, bytes | bytearray) else content
            for key, content in value.items()
        }
        for name, value in attributes.items()
    }


def _message_attributes_from_json(fields: _Fields, key: str) -> dict[str, dict[str, Any]]:
    attributes = {}
    for name, value in fields.mapping(key).items():
        attribute = _Fields(value, f"{fields.where}.{key}.{name}")
        decoded: dict[str, Any] = {"DataType": attribute.text("DataType")}
        for value_key, content in attribute.entries():
            if value_key == "BinaryValue":
                decoded[value_key] = attribute.binary(value_key)
            elif value_key != "DataType":
                decoded[value_key] = content
        attributes[name] = decoded
    return attributes


def _queue_to_json(queue: QueueState) -> dict[str, Any]:
    return {
        "name": queue.name,
        "attributes": queue.attributes,
        "messages": [
            {
                "id": message.id,
                "body": message.body,
                "message_attributes": _message_attributes_to_json(message.message_attributes),
                "system_attributes": _message_attributes_to_json(message.system_attributes),
                "sender_id": message.sender_id,
                "sent_timestamp_ms": message.sent_timestamp_ms,
                "first_receive_timestamp_ms": message.first_receive_timestamp_ms,
                "receive_count": message.receive_count,
                "group_id": message.group_id,
                "deduplication_id": message.deduplication_id,
                "sequence_number": message.sequence_number,
                "delayed_until_ms": message.delayed_until_ms,
            }
            for message in queue.messages
        ],
    }


def _queue_from_json(queue: _Fields) -> QueueState:
    attributes = queue.mapping("attributes")
    if not all(isinstance(value, str) for value in attributes.values()):
        raise MalformedStateError(f"{queue.where}: attributes should map names to strings")
    return QueueState(
        name=queue.text("name"),
        attributes=attributes,
        messages=[
            QueuedMessage(
                id=message.text("id"),
                body=message.text("body"),
                message_attributes=_message_attributes_from_json(message, "message_attributes"),
                system_attributes=_message_attributes_from_json(message, "system_attributes"),
                sender_id=message.text("sender_id"),
                sent_timestamp_ms=message.integer("sent_timestamp_ms"),
                first_receive_timestamp_ms=message.optional_integer("first_receive_timestamp_ms"),
                receive_count=message.integer("receive_count"),
                group_id=message.optional_text("group_id"),
                deduplication_id=message.optional_text("deduplication_id"),
                sequence_number=message.optional_text("sequence_number"),
                delayed_until_ms=message.number("delayed_until_ms"),
            )
            for message in queue.objects("messages")
        ],
    )


def _sent_mail_to_json(mail: SentMailState) -> dict[str, Any]:
    details = mail.details
    return {
        "kind": mail.kind,
        "id": mail.id,
        "source": mail.source,
        "destinations": mail.destinations,
        "subject": mail.subject,
        "body": mail.body,
        "raw_data": mail.raw_data,
        "template": mail.template,
        "template_data": mail.template_data,
        "details": None
        if details is None
        else {"sent_at": details.sent_at.isoformat(), "text": details.text, "html": details.html},
    }


def _sent_mail_from_json(mail: _Fields) -> SentMailState:
    kind = mail.text("kind")
    if kind not in ("simple", "raw", "templated"):
        raise MalformedStateError(f"{mail.where}: kind should be simple, raw or templated, not {kind!r}")
    details = mail.optional_child("details")
    return SentMailState(
        kind=kind,  # type: ignore[arg-type]
        id=mail.text("id"),
        source=mail.text("source"),
        destinations=mail.raw("destinations"),
        subject=mail.optional_text("subject"),
        body=mail.optional_text("body"),
        raw_data=mail.optional_text("raw_data"),
        template=mail.optional_text("template"),
        template_data=mail.optional_text("template_data"),
        details=None
        if details is None
        else MailDetails(
            sent_at=details.timestamp("sent_at"), text=details.optional_text("text"), html=details.optional_text("html")
        ),
    )


def _secret_to_json(secret: SecretState) -> dict[str, Any]:
    return {
        "name": secret.name,
        "description": secret.description,
        "string_value": secret.string_value,
        "binary_value": None if secret.binary_value is None else _encode_base64(secret.binary_value),
    }


def _secret_from_json(secret: _Fields) -> SecretState:
    return SecretState(
        name=secret.text("name"),
        description=secret.optional_text("description"),
        string_value=secret.optional_text("string_value"),
        binary_value=secret.optional_binary("binary_value"),
    )


def _metric_to_json(sample: MetricSample) -> dict[str, Any]:
    return {
        "namespace": sample.namespace,
        "name": sample.name,
        "dimensions": [{"name": name, "value": value} for name, value in sample.dimensions],
        "timestamp": sample.timestamp.isoformat(),
        "unit": sample.unit,
        "value": sample.value,
        "statistics": sample.statistics,
    }


def _metric_from_json(sample: _Fields) -> MetricSample:
    statistics_fields = sample.optional_child("statistics")
    statistics = (
        None
        if statistics_fields is None
        else {key: statistics_fields.number(key) for key in ("Sum", "Minimum", "Maximum", "SampleCount")}
    )
    value = sample.optional_number("value")
    if (value is None) == (statistics is None):
        raise MalformedStateError(f"{sample.where}: exactly one of value and statistics should be set")
    return MetricSample(
        namespace=sample.text("namespace"),
        name=sample.text("name"),
        dimensions=tuple(
            (dimension.text("name"), dimension.text("value")) for dimension in sample.objects("dimensions")
        ),
        timestamp=sample.timestamp("timestamp"),
        unit=sample.optional_text("unit"),
        value=value,
        statistics=statistics,
    )


def _log_group_to_json(group: LogGroupState) -> dict[str, Any]:
    return {
        "name": group.name,
        "retention_days": group.retention_days,
        "streams": [
            {
                "name": stream.name,
                "events": [{"timestamp": timestamp, "message": message} for timestamp, message in stream.events],
            }
            for stream in group.streams
        ],
    }


def _log_group_from_json(group: _Fields) -> LogGroupState:
    return LogGroupState(
        name=group.text("name"),
        retention_days=group.optional_integer("retention_days"),
        streams=[
            LogStreamState(
                name=stream.text("name"),
                events=[(event.integer("timestamp"), event.text("message")) for event in stream.objects("events")],
            )
            for stream in group.objects("streams")
        ],
    )
