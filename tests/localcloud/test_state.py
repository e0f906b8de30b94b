"""Saving the emulator's data on stop and putting it back on the next start."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.emulator import Emulator
from localcloud.operations import list_mail, queue_overview
from localcloud.state import (
    STATE_VERSION,
    StateFileError,
    read_state_file,
    reset_state,
    restore_state,
    save_state,
)
from tests.localcloud.emulator_clients import Clients

REGION = "us-east-1"
SENDER = "shop@example.com"


@pytest.fixture
def start_emulator() -> Iterator[Callable[[], Emulator]]:
    """Starts emulators on free ports, each with moto emptied (moto's data is process-wide)."""
    started: list[Emulator] = []

    def start() -> Emulator:
        emulator = Emulator()
        emulator.start()
        started.append(emulator)
        emulator.reset()
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def restart(start_emulator: Callable[[], Emulator]) -> Callable[[Emulator], Emulator]:
    """Stops an emulator and starts an empty one, as a new `localcloud up` would find it."""

    def restart_emulator(old: Emulator) -> Emulator:
        old.stop()
        return start_emulator()

    return restart_emulator


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "localcloud-state.json"


def _create_orders_table(aws: Clients) -> None:
    aws.dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def _create_queues(aws: Clients, max_receive_count: int = 3) -> tuple[str, str]:
    sqs = aws.sqs
    dlq_url = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    jobs_url = sqs.create_queue(QueueName="jobs", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    return jobs_url, dlq_url


def _receive(aws: Clients, queue_url: str, visibility_timeout: int, count: int = 1) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = aws.sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility_timeout,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    return messages


def test_table_items_of_every_attribute_type_come_back(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a table holding items with strings, numbers, binary, sets, lists and maps
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    _create_orders_table(aws)
    items: list[dict[str, Any]] = [
        {
            "pk": {"S": f"order#{number}"},
            "sk": {"S": "meta"},
            "status": {"S": "paid"},
            "total": {"N": str(number * 100)},
            "receipt": {"B": bytes([0, number, 255])},
            "tags": {"SS": ["a", "b"]},
            "lines": {"L": [{"M": {"sku": {"S": "x"}, "blob": {"B": b"\x01"}}}, {"NULL": True}, {"BOOL": False}]},
        }
        for number in range(1, 31)
    ]
    for item in items:
        aws.dynamodb.put_item(TableName="orders", Item=item)

    # When the state is saved, the emulator restarts empty, provisioning re-creates the table,
    # and the state is restored
    save_state(emulator, state_file, region=REGION)
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    _create_orders_table(aws)
    summary = restore_state(emulator, state_file, region=REGION)

    # Then every item is back, byte for byte, and the index answers
    dynamodb = aws.dynamodb
    restored = dynamodb.scan(TableName="orders", ConsistentRead=True)["Items"]
    assert sorted(restored, key=lambda item: item["pk"]["S"]) == sorted(items, key=lambda item: item["pk"]["S"])
    by_status = dynamodb.query(
        TableName="orders",
        IndexName="by-status",
        KeyConditionExpression="#s = :paid",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":paid": {"S": "paid"}},
    )
    assert by_status["Count"] == 30
    assert (summary.tables, summary.items) == (1, 30)


def test_a_table_that_provisioning_did_not_create_is_created_from_its_saved_definition(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a table with a secondary index and an item
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    _create_orders_table(aws)
    aws.dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o1"}, "sk": {"S": "meta"}, "status": {"S": "new"}})
    save_state(emulator, state_file, region=REGION)

    # When it is restored into an emulator where nobody created that table
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    restore_state(emulator, state_file, region=REGION)

    # Then the table exists with its keys, its index and its item
    table = aws.dynamodb.describe_table(TableName="orders")["Table"]
    assert [key["AttributeName"] for key in table["KeySchema"]] == ["pk", "sk"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["by-status"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ItemCount"] == 1


def test_queued_messages_come_back_in_order_with_attributes_and_receive_counts(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given three messages with attributes, received 1, 1 and 1 times; then the first once more
    # (still visible); then the first two taken in flight
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    jobs_url, _ = _create_queues(aws, max_receive_count=10)
    sqs = aws.sqs
    for number in range(3):
        sqs.send_message(
            QueueUrl=jobs_url,
            MessageBody=json.dumps({"job": number}),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": f"kind-{number}"},
                "payload": {"DataType": "Binary", "BinaryValue": bytes([number, 0, 7])},
                "priority": {"DataType": "Number", "StringValue": str(number)},
            },
            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": f"Root=1-{number}"}},
        )
    before = {message["MessageId"]: message for message in _receive(aws, jobs_url, 0, count=3)}
    first_id = next(iter(before))
    assert _receive(aws, jobs_url, 0)[0]["MessageId"] == first_id
    in_flight = _receive(aws, jobs_url, 600, count=2)
    assert [int(message["Attributes"]["ApproximateReceiveCount"]) for message in in_flight] == [3, 2]

    # When the state goes through a save, a restart and a restore
    save_state(emulator, state_file, region=REGION)
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    _create_queues(aws, max_receive_count=10)
    restore_state(emulator, state_file, region=REGION)

    # Then all three are visible, in their order, with their ids, bodies, attributes, sent times,
    # and receive counts that go on from where they were
    after = _receive(aws, jobs_url, 600, count=10)
    assert [message["MessageId"] for message in after] == list(before)
    for message in after:
        original = before[message["MessageId"]]
        assert message["Body"] == original["Body"]
        assert message["MessageAttributes"] == original["MessageAttributes"]
        assert message["Attributes"]["SentTimestamp"] == original["Attributes"]["SentTimestamp"]
        assert message["Attributes"]["AWSTraceHeader"] == original["Attributes"]["AWSTraceHeader"]
    receive_counts = [int(message["Attributes"]["ApproximateReceiveCount"]) for message in after]
    assert receive_counts == [4, 3, 2]


def test_a_restored_receive_count_still_sends_the_message_to_the_dead_letter_queue(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a queue that gives up after 2 receives, and a message already received twice
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    jobs_url, dlq_url = _create_queues(aws, max_receive_count=2)
    aws.sqs.send_message(QueueUrl=jobs_url, MessageBody="poison")
    _receive(aws, jobs_url, 0)
    _receive(aws, jobs_url, 0)
    save_state(emulator, state_file, region=REGION)

    # When it is restored and received again
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    _create_queues(aws, max_receive_count=2)
    restore_state(emulator, state_file, region=REGION)
    received = _receive(aws, jobs_url, 0)

    # Then the redrive policy moves it to the dead-letter queue instead of delivering it
    assert received == []
    assert [message["Body"] for message in _receive(aws, dlq_url, 0)] == ["poison"]


def test_delayed_and_fifo_messages_keep_their_delay_group_and_deduplication_ids(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a delayed message and two messages of one FIFO group
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    sqs = aws.sqs
    delayed_url = sqs.create_queue(QueueName="later")["QueueUrl"]
    sqs.send_message(QueueUrl=delayed_url, MessageBody="in fifteen minutes", DelaySeconds=900)
    fifo_url = sqs.create_queue(QueueName="ordered.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for number in range(2):
        sqs.send_message(
            QueueUrl=fifo_url,
            MessageBody=f"step {number}",
            MessageGroupId="order-1",
            MessageDeduplicationId=f"d{number}",
        )
    save_state(emulator, state_file, region=REGION)

    # When they are restored into an emulator where provisioning created neither queue
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    restore_state(emulator, state_file, region=REGION)

    # Then the delayed message is still delayed and the FIFO group delivers in order, one at a time
    statuses = {status.name: status for status in queue_overview(emulator.url, region=REGION)}
    assert (statuses["later"].visible, statuses["later"].delayed) == (0, 1)
    assert statuses["ordered.fifo"].fifo
    first = _receive(aws, fifo_url, 600, count=10)
    assert [message["Body"] for message in first] == ["step 0", "step 1"]
    assert [message["Attributes"]["MessageGroupId"] for message in first] == ["order-1", "order-1"]
    assert [message["Attributes"]["MessageDeduplicationId"] for message in first] == ["d0", "d1"]


def test_sent_mail_and_verified_identities_come_back(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a verified sender and one v1 and one v2 send, both with text and HTML bodies
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    aws.ses.verify_email_identity(EmailAddress=SENDER)
    aws.ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["ann@example.com"]},
        Message={
            "Subject": {"Data": "Order received"},
            "Body": {"Text": {"Data": "Thanks, Ann"}, "Html": {"Data": "<p>Thanks, Ann</p>"}},
        },
    )
    aws.sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["bob@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Order shipped"},
                "Body": {"Text": {"Data": "On its way, Bob"}, "Html": {"Data": "<p>On its way, Bob</p>"}},
            }
        },
    )
    before = list_mail(emulator.url)

    # When the state goes through a save, a restart and a restore
    save_state(emulator, state_file, region=REGION)
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    assert list_mail(emulator.url) == []
    restore_state(emulator, state_file, region=REGION)

    # Then the mail is listed as before (ids, times and both bodies) and the sender can still send
    assert list_mail(emulator.url) == before
    assert [(mail.text, mail.html) for mail in before] == [
        ("Thanks, Ann", "<p>Thanks, Ann</p>"),
        ("On its way, Bob", "<p>On its way, Bob</p>"),
    ]
    aws.ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["cy@example.com"]},
        Message={"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "again"}}},
    )
    assert len(list_mail(emulator.url)) == 3


def test_secret_values_come_back_over_the_ones_provisioning_generated(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a secret provisioning made, one the application made at run time, and a binary one
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    secrets = aws.secretsmanager
    secrets.create_secret(Name="jwt-signing-key", SecretString="first-generated-key")
    secrets.create_secret(Name="runtime/api-token", Description="made by the app", SecretString="tok-123")
    secrets.create_secret(Name="blob", SecretBinary=b"\x00\xffbinary")
    save_state(emulator, state_file, region=REGION)

    # When provisioning on the next start generates a new value before the restore
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    secrets = aws.secretsmanager
    secrets.create_secret(Name="jwt-signing-key", SecretString="second-generated-key")
    restore_state(emulator, state_file, region=REGION)

    # Then every secret has the value it had when the state was saved
    assert secrets.get_secret_value(SecretId="jwt-signing-key")["SecretString"] == "first-generated-key"
    assert secrets.get_secret_value(SecretId="runtime/api-token")["SecretString"] == "tok-123"
    assert secrets.describe_secret(SecretId="runtime/api-token")["Description"] == "made by the app"
    assert secrets.get_secret_value(SecretId="blob")["SecretBinary"] == b"\x00\xffbinary"


def test_metric_samples_come_back_with_dimensions_times_and_units(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given single values and a statistic set, one of them from yesterday
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    aws.cloudwatch.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": "OrdersPlaced",
                "Value": 2,
                "Unit": "Count",
                "Dimensions": [{"Name": "service", "Value": "a"}],
            },
            {"MetricName": "OrdersPlaced", "Value": 5, "Unit": "Count", "Timestamp": yesterday},
            {
                "MetricName": "Latency",
                "Unit": "Milliseconds",
                "StatisticValues": {"SampleCount": 4, "Sum": 100, "Minimum": 10, "Maximum": 40},
            },
        ],
    )
    save_state(emulator, state_file, region=REGION)

    # When the state goes through a restart and a restore
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    restore_state(emulator, state_file, region=REGION)

    # Then the series are listed and their samples add up as before
    cloudwatch = aws.cloudwatch
    listed = {
        (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
        for m in cloudwatch.list_metrics()["Metrics"]
    }
    assert listed == {("OrdersPlaced", (("service", "a"),)), ("OrdersPlaced", ()), ("Latency", ())}
    old = cloudwatch.get_metric_statistics(
        Namespace="Shop",
        MetricName="OrdersPlaced",
        StartTime=yesterday - timedelta(minutes=1),
        EndTime=yesterday + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert [(point["Sum"], point["Unit"]) for point in old] == [(5.0, "Count")]
    latency = cloudwatch.get_metric_statistics(
        Namespace="Shop",
        MetricName="Latency",
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )["Datapoints"]
    assert [(p["Sum"], p["SampleCount"], p["Maximum"]) for p in latency] == [(100.0, 4.0, 40.0)]


def test_the_latest_log_events_of_each_stream_come_back(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a function's log stream with five events
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    logs = aws.logs
    logs.create_log_group(logGroupName="/aws/lambda/orders")
    logs.put_retention_policy(logGroupName="/aws/lambda/orders", retentionInDays=7)
    logs.create_log_stream(logGroupName="/aws/lambda/orders", logStreamName="worker-1")
    start = int(datetime.now(UTC).timestamp() * 1000) - 10_000
    logs.put_log_events(
        logGroupName="/aws/lambda/orders",
        logStreamName="worker-1",
        logEvents=[{"timestamp": start + number, "message": f"line {number}"} for number in range(5)],
    )

    # When the state is saved keeping three events per stream, and restored after a restart
    save_state(emulator, state_file, region=REGION, log_events_per_stream=3)
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    summary = restore_state(emulator, state_file, region=REGION)

    # Then the group, its retention and the three latest events are back, in order
    logs = aws.logs
    events = logs.get_log_events(logGroupName="/aws/lambda/orders", logStreamName="worker-1", startFromHead=True)
    assert [(event["timestamp"], event["message"]) for event in events["events"]] == [
        (start + number, f"line {number}") for number in (2, 3, 4)
    ]
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/orders")["logGroups"][0]["retentionInDays"] == 7
    assert (summary.log_events, summary.rejected_log_events) == (3, 0)


def test_restoring_twice_adds_no_duplicate_messages_or_mail(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a saved queue message and a sent mail
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    jobs_url, _ = _create_queues(aws)
    aws.sqs.send_message(QueueUrl=jobs_url, MessageBody="once")
    aws.ses.verify_email_identity(EmailAddress=SENDER)
    aws.ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["ann@example.com"]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "once"}}},
    )
    save_state(emulator, state_file, region=REGION)

    # When the state is restored twice
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    restore_state(emulator, state_file, region=REGION)
    restore_state(emulator, state_file, region=REGION)

    # Then each is there once
    assert queue_overview(emulator.url, region=REGION)[0].visible == 1
    assert len(list_mail(emulator.url)) == 1


def test_saving_replaces_the_file_whole_and_leaves_no_temporary_files(
    start_emulator: Callable[[], Emulator], state_file: Path
) -> None:
    # Given a state file saved once
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    save_state(emulator, state_file, region=REGION)

    # When a queue is added and the state saved again
    aws.sqs.create_queue(QueueName="added")
    save_state(emulator, state_file, region=REGION)

    # Then the file holds the new state and is alone in its folder
    assert [queue.name for queue in read_state_file(state_file).queues] == ["added"]
    assert list(state_file.parent.iterdir()) == [state_file]


def test_a_file_that_is_not_json_is_refused_naming_the_file(
    start_emulator: Callable[[], Emulator], state_file: Path
) -> None:
    # Given a truncated state file
    emulator = start_emulator()
    save_state(emulator, state_file, region=REGION)
    state_file.write_text(state_file.read_text()[:40])

    # When it is restored
    with pytest.raises(StateFileError) as raised:
        restore_state(emulator, state_file, region=REGION)

    # Then the error names the file and says what is wrong, on one line
    assert str(state_file) in str(raised.value)
    assert "not valid JSON" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_file_of_another_format_version_is_refused(start_emulator: Callable[[], Emulator], state_file: Path) -> None:
    emulator = start_emulator()
    save_state(emulator, state_file, region=REGION)
    document = json.loads(state_file.read_text())
    document["version"] = STATE_VERSION + 1
    state_file.write_text(json.dumps(document))

    with pytest.raises(StateFileError, match=f"format version {STATE_VERSION + 1}"):
        restore_state(emulator, state_file, region=REGION)


def test_a_malformed_field_is_named_and_nothing_is_restored(
    start_emulator: Callable[[], Emulator], restart: Callable[[Emulator], Emulator], state_file: Path
) -> None:
    # Given a saved table item and a message whose receive count was damaged
    emulator = start_emulator()
    aws = Clients(emulator, REGION)
    _create_orders_table(aws)
    aws.dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o1"}, "sk": {"S": "m"}, "status": {"S": "x"}})
    jobs_url, _ = _create_queues(aws)
    aws.sqs.send_message(QueueUrl=jobs_url, MessageBody="m")
    save_state(emulator, state_file, region=REGION)
    document = json.loads(state_file.read_text())
    document["sqs"]["queues"][1]["messages"][0]["receive_count"] = "two"
    state_file.write_text(json.dumps(document))

    # When it is restored
    emulator = restart(emulator)
    aws = Clients(emulator, REGION)
    with pytest.raises(StateFileError) as raised:
        restore_state(emulator, state_file, region=REGION)

    # Then the error points at the field, and the table was not created half-way
    assert "sqs.queues[1].messages[0]: receive_count should be an integer" in str(raised.value)
    assert aws.dynamodb.list_tables()["TableNames"] == []


def test_a_missing_file_is_an_error_naming_it(start_emulator: Callable[[], Emulator], tmp_path: Path) -> None:
    emulator = start_emulator()
    missing = tmp_path / "nothing.json"

    with pytest.raises(StateFileError, match="nothing.json: cannot be read"):
        restore_state(emulator, missing, region=REGION)


def test_a_file_saved_for_another_region_is_refused(start_emulator: Callable[[], Emulator], state_file: Path) -> None:
    emulator = start_emulator()
    save_state(emulator, state_file, region="eu-west-1")

    with pytest.raises(StateFileError, match="saved for account 123456789012 in eu-west-1"):
        restore_state(emulator, state_file, region=REGION)


def test_reset_deletes_the_file_once(start_emulator: Callable[[], Emulator], state_file: Path) -> None:
    # Given a saved state
    save_state(start_emulator(), state_file, region=REGION)

    # When it is reset twice
    first, second = reset_state(state_file), reset_state(state_file)

    # Then the file is gone, and only the first reset found one
    assert (first, second) == (True, False)
    assert not state_file.exists()
