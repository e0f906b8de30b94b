"""The whole local cloud running the fixture app: API and authorizer, functions, DynamoDB, SQS, schedules, logs."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from localcloud.emulator import emulator_session
from localcloud.operations import list_metrics, tail_logs
from localcloud.stack import LocalCloud, LocalCloudConfig
from localcloud.state import read_state_file
from tests.localcloud.fixture_app_client import FIXTURE_APP, FIXTURE_TEMPLATE, call_api, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_sqs import SQSClient

REGION = "us-east-1"

type StartCloud = Callable[[Path], LocalCloud]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    # One cloud for the module: moto keeps its data per process anyway, so each test uses data of its own.
    config = LocalCloudConfig(
        template=FIXTURE_TEMPLATE,
        state_dir=tmp_path_factory.mktemp("state"),
        aws_port=0,
        api_port=0,
        payments_port=None,
        watch=True,
        persist=False,
    )
    running = LocalCloud(config)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api_url(cloud: LocalCloud) -> str:
    assert cloud.gateway is not None
    return cloud.gateway.url


@pytest.fixture
def start_cloud(tmp_path: Path) -> Iterator[StartCloud]:
    """Starts clouds of their own, under a stack name of their own so that they share nothing with the others."""
    started: list[LocalCloud] = []

    def start(template: Path) -> LocalCloud:
        config = LocalCloudConfig(
            template=template,
            state_dir=tmp_path / "state",
            stack_name=f"copy-{uuid.uuid4().hex[:8]}",
            aws_port=0,
            api_port=0,
            payments_port=None,
            watch=True,
        )
        running = LocalCloud(config)
        started.append(running)
        running.start()
        return running

    yield start
    for running in started:
        running.stop(save=False)


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "app"
    shutil.copytree(FIXTURE_APP, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def dynamodb(cloud: LocalCloud) -> DynamoDBClient:
    return emulator_session(REGION).client("dynamodb", endpoint_url=cloud.emulator.url)


def sqs(cloud: LocalCloud) -> SQSClient:
    return emulator_session(REGION).client("sqs", endpoint_url=cloud.emulator.url)


def table_name(cloud: LocalCloud) -> str:
    assert cloud.report is not None
    return cloud.report.stack.functions["ApiFunction"].environment["TABLE_NAME"]


def function_name(cloud: LocalCloud, logical_id: str) -> str:
    assert cloud.report is not None
    return cloud.report.stack.functions[logical_id].function_name


def queue_url(cloud: LocalCloud, logical_id: str) -> str:
    assert cloud.report is not None
    return sqs(cloud).get_queue_url(QueueName=f"{cloud.report.stack_name}-{logical_id}")["QueueUrl"]


def stored_item(cloud: LocalCloud, key: str) -> dict[str, AttributeValueTypeDef] | None:
    return dynamodb(cloud).get_item(TableName=table_name(cloud), Key={"pk": {"S": key}}).get("Item")


def log_messages(cloud: LocalCloud, logical_id: str) -> list[str]:
    return [event.message for event in tail_logs(cloud.emulator.url, function_name(cloud, logical_id), region=REGION)]


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def test_public_route_answers_without_a_token(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", "/hello")

    # Then
    assert (answer.status, answer.body) == (200, {"message": "hello"})
    assert answer.headers["Content-Type"] == "application/json"


def test_protected_route_without_a_token_is_unauthorized(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", "/whoami")

    # Then
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})


def test_allowed_token_reaches_the_handler_with_the_authorizer_context(api_url: str) -> None:
    # Given
    caller = user()

    # When
    answer = call_api(api_url, "GET", "/whoami", token=f"allow-{caller}")

    # Then
    assert (answer.status, answer.body) == (200, {"user": caller})


def test_denied_token_is_forbidden(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", "/whoami", token="deny")

    # Then
    assert answer.status == 403
    assert answer.body == {"message": "User is not authorized to access this resource with an explicit deny"}


def test_token_the_authorizer_fails_on_is_unauthorized(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", "/whoami", token=f"forged-{uuid.uuid4().hex}")

    # Then
    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})


def test_unknown_route_is_missing_authentication_token(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", "/nowhere", token=f"allow-{user()}")

    # Then
    assert (answer.status, answer.body) == (403, {"message": "Missing Authentication Token"})


def test_greedy_proxy_route_gets_the_rest_of_the_path(api_url: str) -> None:
    # When
    answer = call_api(api_url, "DELETE", "/files/reports/2024/summary.txt")

    # Then
    assert (answer.status, answer.body) == (200, {"method": "DELETE", "path": "reports/2024/summary.txt"})


def test_crash_answers_502_and_the_next_request_is_served_by_a_new_worker(api_url: str) -> None:
    # Given
    before = call_api(api_url, "GET", "/crash")

    # When
    crashed = call_api(api_url, "GET", "/crash?exit=1")
    after = call_api(api_url, "GET", "/crash")

    # Then
    assert (crashed.status, crashed.body) == (502, {"message": "Internal server error"})
    assert (before.status, after.status) == (200, 200)
    assert after.body["pid"] != before.body["pid"]


def test_function_past_its_timeout_answers_502_and_then_serves_again(api_url: str) -> None:
    # When
    timed_out = call_api(api_url, "GET", "/slow?seconds=5")
    following = call_api(api_url, "GET", "/slow")

    # Then
    assert (timed_out.status, timed_out.body) == (502, {"message": "Internal server error"})
    assert (following.status, following.body) == (200, {"slept": 0.0})


def test_item_written_through_the_api_is_read_back_from_dynamodb(api_url: str, cloud: LocalCloud) -> None:
    # Given
    token = f"allow-{user()}"
    item_id = uuid.uuid4().hex

    # When
    written = call_api(api_url, "PUT", f"/items/{item_id}", body="a first note", token=token)
    read = call_api(api_url, "GET", f"/items/{item_id}", token=token)

    # Then
    assert (written.status, written.body) == (201, {"id": item_id})
    assert (read.status, read.body) == (200, {"id": item_id, "text": "a first note"})
    assert stored_item(cloud, f"item#{item_id}") == {"pk": {"S": f"item#{item_id}"}, "text": {"S": "a first note"}}


def test_missing_item_is_not_found(api_url: str) -> None:
    # When
    answer = call_api(api_url, "GET", f"/items/{uuid.uuid4().hex}", token=f"allow-{user()}")

    # Then
    assert answer.status == 404


def test_message_sent_through_the_api_is_processed_by_the_queue_worker(api_url: str, cloud: LocalCloud) -> None:
    # Given
    body = f"job-{uuid.uuid4().hex}"

    # When
    sent = call_api(api_url, "POST", "/messages", body=body, token=f"allow-{user()}")

    # Then
    assert sent.status == 202
    item = wait_for(lambda: stored_item(cloud, f"job#{body}"), f"the worker recording {body}")
    assert item == {"pk": {"S": f"job#{body}"}}


def test_failing_message_ends_in_the_dead_letter_queue_after_max_receive_count(api_url: str, cloud: LocalCloud) -> None:
    # Given
    body = f"fail-{uuid.uuid4().hex}"
    client = sqs(cloud)
    dead_letters = queue_url(cloud, "JobsDeadLetterQueue")

    # When
    call_api(api_url, "POST", "/messages", body=body, token=f"allow-{user()}")

    # Then
    def dead_letter() -> str | None:
        received = client.receive_message(
            QueueUrl=dead_letters, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
        )
        return next((message["Body"] for message in received.get("Messages", []) if message["Body"] == body), None)

    assert wait_for(dead_letter, f"{body} in the dead-letter queue") == body

    def attempts() -> list[str] | None:
        lines = [line for line in log_messages(cloud, "JobsFunction") if line.startswith(f"cannot process {body}")]
        return lines if len(lines) >= 2 else None

    assert len(wait_for(attempts, "the worker's log of its attempts")) == 2


def test_schedule_fired_now_writes_the_heartbeat(cloud: LocalCloud) -> None:
    # Given
    assert cloud.scheduler is not None

    # When
    invocations = cloud.scheduler.fire_now("HeartbeatFunction")

    # Then
    assert [invocation.error for invocation in invocations] == [None]
    payload = invocations[0].payload
    assert isinstance(payload, dict)
    item = stored_item(cloud, payload["pk"])
    assert item is not None
    assert item["time"]["S"].endswith("Z")


def test_function_output_reaches_cloudwatch_logs_in_order(api_url: str, cloud: LocalCloud) -> None:
    # Given
    marker = uuid.uuid4().hex

    # When
    call_api(api_url, "GET", f"/report?marker={marker}")

    # Then
    def report_lines() -> list[str] | None:
        lines = [line for line in log_messages(cloud, "ReportFunction") if line.startswith(f"report {marker} ")]
        return lines if len(lines) >= 2 else None

    assert wait_for(report_lines, "the report's log lines") == [f"report {marker} started\n", f"report {marker} done\n"]


def test_emf_line_becomes_a_cloudwatch_metric(api_url: str, cloud: LocalCloud) -> None:
    # Given
    marker = uuid.uuid4().hex

    # When
    call_api(api_url, "GET", f"/report?marker={marker}")

    # Then
    metric = wait_for(
        lambda: next(
            (
                summary
                for summary in list_metrics(cloud.emulator.url, "FixtureApp", region=REGION)
                if summary.dimensions == (("Marker", marker),)
            ),
            None,
        ),
        "the report's metric",
    )
    assert (metric.name, metric.sum, metric.count, metric.unit) == ("Reports", 1.0, 1.0, "Count")


def test_changed_handler_is_served_by_the_next_request(app_copy: Path, start_cloud: StartCloud) -> None:
    # Given
    running = start_cloud(app_copy / "template.yaml")
    assert running.gateway is not None
    url = running.gateway.url
    assert call_api(url, "GET", "/hello").body == {"message": "hello"}
    handler_file = app_copy / "src" / "api.py"

    # When
    handler_file.write_text(handler_file.read_text().replace('GREETING = "hello"', 'GREETING = "hello again"'))

    # Then
    def changed_greeting() -> object | None:
        greeting: object = call_api(url, "GET", "/hello").body
        return greeting if greeting != {"message": "hello"} else None

    assert wait_for(changed_greeting, "a new greeting") == {"message": "hello again"}


def test_stop_saves_the_state_and_releases_the_api(app_copy: Path, start_cloud: StartCloud) -> None:
    # Given
    running = start_cloud(app_copy / "template.yaml")
    assert running.gateway is not None
    url = running.gateway.url
    item_id = uuid.uuid4().hex
    call_api(url, "PUT", f"/items/{item_id}", body="kept", token=f"allow-{user()}")
    table = table_name(running)

    # When
    running.stop()

    # Then
    tables = {
        table_state.definition["TableName"]: table_state
        for table_state in read_state_file(running.aws_state_file).tables
    }
    assert {"pk": {"S": f"item#{item_id}"}, "text": {"S": "kept"}} in tables[table].items
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/hello", timeout=5)
