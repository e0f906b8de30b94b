"""The queries and actions the CLI runs against a running emulator over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from localcloud.emulator import Emulator
from localcloud.operations import (
    EmulatorUnreachableError,
    LogGroupNotFoundError,
    NotADeadLetterQueueError,
    QueueNotFoundError,
    list_mail,
    list_metrics,
    queue_overview,
    redrive_dlq,
    tail_logs,
)
from tests.localcloud.emulator_clients import Clients

REGION = "us-east-1"
SENDER = "shop@example.com"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A running emulator with moto emptied (moto's data is process-wide)."""
    with Emulator() as running:
        running.reset()
        yield running


@pytest.fixture
def aws(emulator: Emulator) -> Clients:
    return Clients(emulator, REGION)


@pytest.fixture
def make_queue(aws: Clients) -> Callable[..., str]:
    """Creates a queue, optionally sending its failed messages to a dead-letter queue; its URL."""

    def make(name: str, dead_letter_queue: str | None = None, max_receive_count: int = 3, **attributes: str) -> str:
        if dead_letter_queue is not None:
            dlq_url = aws.sqs.get_queue_url(QueueName=dead_letter_queue)["QueueUrl"]
            dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": max_receive_count}
            )
        url: str = aws.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url

    return make


@pytest.fixture
def unused_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


def test_queue_overview_counts_visible_in_flight_and_delayed_messages_and_names_dlq_sources(
    emulator: Emulator, aws: Clients, make_queue: Callable[..., str]
) -> None:
    # Given a DLQ shared by two queues, and "orders" with 2 visible, 1 in flight and 1 delayed message
    make_queue("failed")
    orders_url = make_queue("orders", dead_letter_queue="failed", max_receive_count=5)
    make_queue("emails", dead_letter_queue="failed")
    for body in ("a", "b", "c"):
        aws.sqs.send_message(QueueUrl=orders_url, MessageBody=body)
    aws.sqs.send_message(QueueUrl=orders_url, MessageBody="later", DelaySeconds=600)
    aws.sqs.receive_message(QueueUrl=orders_url, MaxNumberOfMessages=1, VisibilityTimeout=600)

    # When the queues are listed
    overview = {status.name: status for status in queue_overview(emulator.url, region=REGION)}

    # Then each queue has its counts and its place in redrive
    orders = overview["orders"]
    assert (orders.visible, orders.in_flight, orders.delayed) == (2, 1, 1)
    assert (orders.dead_letter_target, orders.max_receive_count) == ("failed", 5)
    assert not orders.is_dead_letter_queue
    assert overview["failed"].is_dead_letter_queue
    assert overview["failed"].dead_letter_sources == ("emails", "orders")
    assert overview["failed"].dead_letter_target is None
    assert sorted(overview) == ["emails", "failed", "orders"]


def test_redrive_moves_every_message_back_with_its_body_and_attributes(
    emulator: Emulator, aws: Clients, make_queue: Callable[..., str]
) -> None:
    # Given 23 messages with attributes in a DLQ (more than one receive batch)
    dlq_url = make_queue("jobs-dlq")
    jobs_url = make_queue("jobs", dead_letter_queue="jobs-dlq")
    sent: dict[str, dict[str, Any]] = {}
    for number in range(23):
        attributes: dict[str, dict[str, Any]] = {
            "attempt": {"DataType": "Number", "StringValue": str(number)},
            "blob": {"DataType": "Binary", "BinaryValue": bytes([number, 1])},
        }
        aws.sqs.send_message(QueueUrl=dlq_url, MessageBody=f"job {number}", MessageAttributes=attributes)
        sent[f"job {number}"] = attributes

    # When the DLQ is redriven by name
    moved = redrive_dlq(emulator.url, "jobs-dlq", region=REGION)

    # Then all are back in the source queue with their attributes, and the DLQ is empty
    assert moved == 23
    received: dict[str, Any] = {}
    while batch := aws.sqs.receive_message(
        QueueUrl=jobs_url, MaxNumberOfMessages=10, VisibilityTimeout=600, MessageAttributeNames=["All"]
    ).get("Messages", []):
        received.update({message["Body"]: message["MessageAttributes"] for message in batch})
    assert received.keys() == sent.keys()
    for body, attributes in sent.items():
        assert received[body]["attempt"]["StringValue"] == attributes["attempt"]["StringValue"]
        assert received[body]["blob"]["BinaryValue"] == attributes["blob"]["BinaryValue"]
    statuses = {status.name: status for status in queue_overview(emulator.url, region=REGION)}
    assert (statuses["jobs-dlq"].visible, statuses["jobs-dlq"].in_flight) == (0, 0)


def test_redrive_of_a_fifo_dlq_keeps_order_and_message_groups(
    emulator: Emulator, aws: Clients, make_queue: Callable[..., str]
) -> None:
    # Given a FIFO DLQ with three messages of one group
    dlq_url = make_queue("steps-dlq.fifo", FifoQueue="true")
    steps_url = make_queue("steps.fifo", dead_letter_queue="steps-dlq.fifo", FifoQueue="true")
    for number in range(3):
        aws.sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=f"step {number}",
            MessageGroupId="order-9",
            MessageDeduplicationId=f"s{number}",
        )

    # When it is redriven by URL
    moved = redrive_dlq(emulator.url, dlq_url, region=REGION)

    # Then the source queue delivers them in order, in their group
    messages = aws.sqs.receive_message(
        QueueUrl=steps_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    assert moved == 3
    assert [message["Body"] for message in messages] == ["step 0", "step 1", "step 2"]
    assert {message["Attributes"]["MessageGroupId"] for message in messages} == {"order-9"}


def test_redrive_of_an_empty_dlq_moves_nothing(emulator: Emulator, make_queue: Callable[..., str]) -> None:
    make_queue("quiet-dlq")
    make_queue("quiet", dead_letter_queue="quiet-dlq")

    assert redrive_dlq(emulator.url, "quiet-dlq", region=REGION) == 0


def test_redrive_refuses_a_queue_that_is_no_queues_dlq(emulator: Emulator, make_queue: Callable[..., str]) -> None:
    make_queue("plain")

    with pytest.raises(NotADeadLetterQueueError, match="plain is not the dead-letter queue of any queue"):
        redrive_dlq(emulator.url, "plain", region=REGION)


def test_redrive_of_a_dlq_shared_by_several_queues_needs_a_destination(
    emulator: Emulator, aws: Clients, make_queue: Callable[..., str]
) -> None:
    # Given a DLQ of two queues, holding one message
    dlq_url = make_queue("shared-dlq")
    make_queue("first", dead_letter_queue="shared-dlq")
    second_url = make_queue("second", dead_letter_queue="shared-dlq")
    aws.sqs.send_message(QueueUrl=dlq_url, MessageBody="which way?")

    # When it is redriven without a destination, then with one
    with pytest.raises(NotADeadLetterQueueError, match="of first, second; choose one"):
        redrive_dlq(emulator.url, "shared-dlq", region=REGION)
    moved = redrive_dlq(emulator.url, "shared-dlq", region=REGION, destination="second")

    # Then the message went to the chosen queue
    assert moved == 1
    assert [m["Body"] for m in aws.sqs.receive_message(QueueUrl=second_url)["Messages"]] == ["which way?"]


def test_redrive_of_an_unknown_queue_names_it(emulator: Emulator) -> None:
    with pytest.raises(QueueNotFoundError, match="no queue named ghost"):
        redrive_dlq(emulator.url, "ghost", region=REGION)


def test_list_mail_shows_v1_v2_and_raw_sends_with_text_and_html(emulator: Emulator, aws: Clients) -> None:
    # Given a verified sender and three sends: v1 and v2 with both bodies, and a raw MIME message
    aws.ses.verify_email_identity(EmailAddress=SENDER)
    before = datetime.now(UTC)
    aws.ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["ann@example.com"], "CcAddresses": ["cc@example.com"]},
        Message={
            "Subject": {"Data": "Order received"},
            "Body": {"Text": {"Data": "Thanks, Ann"}, "Html": {"Data": "<p>Thanks, Ann</p>"}},
        },
    )
    aws.sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["bob@example.com"]},
        Content={"Simple": {"Subject": {"Data": "Shipped"}, "Body": {"Text": {"Data": "On its way"}}}},
    )
    raw = (
        f"From: {SENDER}\r\nTo: cy@example.com\r\nSubject: Invoice\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nInvoice attached\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<b>Invoice</b>\r\n--b--\r\n"
    )
    aws.sesv2.send_email(FromEmailAddress=SENDER, Content={"Raw": {"Data": raw.encode()}})

    # When the mail is listed
    mail = list_mail(emulator.url)

    # Then each message is there, oldest first, with its recipients, subject and both bodies
    assert [(m.to, m.subject, m.text, m.html) for m in mail] == [
        (("ann@example.com",), "Order received", "Thanks, Ann", "<p>Thanks, Ann</p>"),
        (("bob@example.com",), "Shipped", "On its way", None),
        (("cy@example.com",), "Invoice", "Invoice attached", "<b>Invoice</b>"),
    ]
    assert mail[0].cc == ("cc@example.com",)
    assert {m.source for m in mail} == {SENDER}
    assert len({m.id for m in mail}) == 3
    assert all(m.timestamp is not None and m.timestamp >= before for m in mail)
    assert mail[2].raw == raw


def test_list_mail_shows_a_templated_send_with_its_template_and_data(emulator: Emulator, aws: Clients) -> None:
    # Given a template and a send that uses it
    aws.ses.verify_email_identity(EmailAddress=SENDER)
    aws.ses.create_template(
        Template={"TemplateName": "welcome", "SubjectPart": "Hi {{name}}", "TextPart": "Welcome, {{name}}"}
    )
    aws.ses.send_templated_email(
        Source=SENDER,
        Destination={"ToAddresses": ["dee@example.com"]},
        Template="welcome",
        TemplateData='{"name": "Dee"}',
    )

    # When the mail is listed
    (mail,) = list_mail(emulator.url)

    # Then the message names its template and data
    assert (mail.to, mail.template, mail.template_data) == (("dee@example.com",), "welcome", '{"name": "Dee"}')


def test_mail_the_emulator_did_not_see_being_sent_shows_its_one_body_by_its_markup(emulator: Emulator) -> None:
    # Given two messages put into moto's SES directly, past the emulator's HTTP front
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.verify_email_identity(SENDER)
    backend.send_email(SENDER, "plain", "just text", {"ToAddresses": ["a@example.com"]})
    backend.send_email(SENDER, "rich", "<p>markup</p>", {"ToAddresses": ["b@example.com"]})

    # When the mail is listed
    mail = list_mail(emulator.url)

    # Then moto's single body is shown as text or HTML by its markup, without a send time
    assert [(m.subject, m.text, m.html, m.timestamp) for m in mail] == [
        ("plain", "just text", None, None),
        ("rich", None, "<p>markup</p>", None),
    ]


def test_a_rejected_send_is_not_listed(emulator: Emulator, aws: Clients) -> None:
    # Given a send from an unverified address, which SES rejects
    with pytest.raises(aws.ses.exceptions.MessageRejected):
        aws.ses.send_email(
            Source="stranger@example.com",
            Destination={"ToAddresses": ["ann@example.com"]},
            Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}},
        )

    # Then there is no mail
    assert list_mail(emulator.url) == []


def test_operations_against_a_port_where_nothing_listens_say_so(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"

    with pytest.raises(EmulatorUnreachableError, match=f"no emulator answers at {url}"):
        list_mail(url)
    with pytest.raises(EmulatorUnreachableError, match="is `localcloud up` running"):
        queue_overview(url, region=REGION)


def test_list_metrics_sums_each_series_exactly_over_the_window(emulator: Emulator, aws: Clients) -> None:
    # Given one metric name in two series (one dimension, two dimensions), a sample from two hours
    # ago, and a metric of another namespace
    dimension = {"Name": "service", "Value": "orders"}
    aws.cloudwatch.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {"MetricName": "Placed", "Value": 2, "Unit": "Count", "Dimensions": [dimension]},
            {"MetricName": "Placed", "Value": 3, "Unit": "Count", "Dimensions": [dimension]},
            {
                "MetricName": "Placed",
                "Value": 7,
                "Unit": "Count",
                "Dimensions": [dimension, {"Name": "channel", "Value": "web"}],
            },
            {
                "MetricName": "Placed",
                "Value": 100,
                "Dimensions": [dimension],
                "Timestamp": datetime.now(UTC) - timedelta(hours=2),
            },
            {"MetricName": "Latency", "StatisticValues": {"SampleCount": 4, "Sum": 80, "Minimum": 5, "Maximum": 40}},
        ],
    )
    aws.cloudwatch.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "Noise", "Value": 1}])

    # When the metrics of the namespace are listed over the last hour
    metrics = list_metrics(emulator.url, "Shop", region=REGION)

    # Then each series counts only its own samples within the hour
    summaries = {(m.name, m.dimensions): (m.sum, m.count, m.minimum, m.maximum) for m in metrics}
    assert summaries == {
        ("Latency", ()): (80.0, 4.0, 5.0, 40.0),
        ("Placed", (("channel", "web"), ("service", "orders"))): (7.0, 1.0, 7.0, 7.0),
        ("Placed", (("service", "orders"),)): (5.0, 2.0, 2.0, 3.0),
    }
    assert {m.namespace for m in metrics} == {"Shop"}
    assert {m.unit for m in metrics if m.name == "Placed"} == {"Count"}


def test_list_metrics_without_a_namespace_lists_every_namespace(emulator: Emulator, aws: Clients) -> None:
    aws.cloudwatch.put_metric_data(Namespace="A", MetricData=[{"MetricName": "One", "Value": 1}])
    aws.cloudwatch.put_metric_data(Namespace="B", MetricData=[{"MetricName": "Two", "Value": 2}])

    metrics = list_metrics(emulator.url, region=REGION)

    assert [(m.namespace, m.name, m.sum) for m in metrics] == [("A", "One", 1.0), ("B", "Two", 2.0)]


def _put_events(aws: Clients, function_name: str, stream: str, events: list[tuple[datetime, str]]) -> None:
    group = f"/aws/lambda/{function_name}"
    existing = aws.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    if not existing:
        aws.logs.create_log_group(logGroupName=group)
    streams = aws.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]
    if not streams:
        aws.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    aws.logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(moment.timestamp() * 1000), "message": message} for moment, message in events],
    )


def test_tail_logs_returns_the_events_since_a_time_in_time_order_across_streams(
    emulator: Emulator, aws: Clients
) -> None:
    # Given a function's events in two streams, one of them older than the requested start
    now = datetime.now(UTC).replace(microsecond=0)
    _put_events(aws, "orders", "worker-1", [(now - timedelta(minutes=10), "too old"), (now, "third")])
    _put_events(
        aws, "orders", "worker-2", [(now - timedelta(seconds=2), "first"), (now - timedelta(seconds=1), "second")]
    )

    # When the logs since five minutes ago are read
    events = list(tail_logs(emulator.url, "orders", region=REGION, since=now - timedelta(minutes=5)))

    # Then they come oldest first, with their streams and times
    assert [(event.message, event.stream) for event in events] == [
        ("first", "worker-2"),
        ("second", "worker-2"),
        ("third", "worker-1"),
    ]
    assert events[2].timestamp == now


def test_tail_logs_with_follow_yields_events_logged_later_once_each(emulator: Emulator, aws: Clients) -> None:
    # Given a followed function with one event
    now = datetime.now(UTC)
    _put_events(aws, "payments", "worker-1", [(now, "started")])
    follower = tail_logs(emulator.url, "payments", region=REGION, follow=True, poll_interval_s=0.05)
    assert next(follower).message == "started"

    # When more events arrive, one of them with an earlier timestamp from another stream
    _put_events(aws, "payments", "worker-1", [(now + timedelta(milliseconds=5), "charged")])
    _put_events(aws, "payments", "worker-2", [(now - timedelta(seconds=1), "late arrival")])

    # Then the follower yields each new event once, and no event twice
    followed = sorted(next(follower).message for _ in range(2))
    follower.close()
    assert followed == ["charged", "late arrival"]


def test_tail_logs_of_a_function_without_logs_names_the_log_group(emulator: Emulator) -> None:
    with pytest.raises(LogGroupNotFoundError, match="no log group /aws/lambda/never-ran"):
        list(tail_logs(emulator.url, "never-ran", region=REGION))


def test_following_a_function_that_has_not_logged_yet_waits_for_its_first_event(
    emulator: Emulator, aws: Clients
) -> None:
    # Given a follower polling before the function ever logged
    follower = tail_logs(emulator.url, "fresh", region=REGION, follow=True, poll_interval_s=0.05)
    first: list[str] = []
    consumer = threading.Thread(target=lambda: first.append(next(follower).message), daemon=True)
    consumer.start()
    time.sleep(0.3)
    assert first == []

    # When the function logs
    _put_events(aws, "fresh", "worker-1", [(datetime.now(UTC), "hello")])

    # Then the follower yields that event
    consumer.join(timeout=10)
    assert first == ["hello"]
    follower.close()
