"""The Lambda API on the emulator's endpoint, called with boto3 as tests and functions call it."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.emulator import emulator_session
from localcloud.lambda_api import ASYNC_PAYLOAD_LIMIT, LOG_TAIL_BYTES, RESPONSE_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT
from localcloud.stack import LocalCloud, LocalCloudConfig
from localcloud.template import load_template
from tests.localcloud.fixture_app_client import wait_for

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# boto3's Lambda client (the dev tools have no type stubs of it).
type LambdaClient = Any

TEMPLATE = Path(__file__).parent / "templates" / "lambda_app" / "template.yaml"
STACK = "lambda-api"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    config = LocalCloudConfig(
        template=TEMPLATE,
        state_dir=tmp_path_factory.mktemp("state"),
        stack_name=STACK,
        aws_port=0,
        api_port=0,
        payments_port=None,
        watch=False,
        persist=False,
        # Lambda's own waits are minutes; the retries themselves are what these tests look at.
        event_retry_delays_s=(0.2, 0.4),
    )
    running = LocalCloud(config, console=None)
    running.start()
    yield running
    running.stop(save=False)


@pytest.fixture(scope="module")
def lambda_client(cloud: LocalCloud) -> LambdaClient:
    # No retries: a throttle or a timeout must reach the test as it was answered.
    config = Config(retries={"total_max_attempts": 1}, read_timeout=30)
    return emulator_session(REGION).client("lambda", endpoint_url=cloud.emulator.url, config=config)


@pytest.fixture(scope="module")
def sqs(cloud: LocalCloud) -> SQSClient:
    return emulator_session(REGION).client("sqs", endpoint_url=cloud.emulator.url)


def name(logical_id: str) -> str:
    return f"{STACK}-{logical_id}"


def arn(logical_id: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name(logical_id)}"


def error_code(error: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = error.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def invoke(client: LambdaClient, logical_id: str, event: object, **options: Any) -> tuple[dict[str, Any], Any]:
    answer = client.invoke(FunctionName=name(logical_id), Payload=json.dumps(event).encode(), **options)
    body = answer["Payload"].read()
    return dict(answer), json.loads(body) if body else None


def queued_bodies(sqs: SQSClient, logical_id: str, count: int) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=name(logical_id))["QueueUrl"]
    received: list[dict[str, Any]] = []

    def probe() -> list[dict[str, Any]] | None:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        for message in messages.get("Messages", []):
            received.append({"body": json.loads(message["Body"]), "attributes": message.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received if len(received) >= count else None

    return wait_for(probe, f"{count} message(s) in {logical_id}")


def test_list_functions_lists_every_function_of_the_template(lambda_client: LambdaClient) -> None:
    # Given
    template = load_template(TEMPLATE)
    declared = {
        logical_id for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }  # fmt: skip

    # When
    functions = [
        function for page in lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 3})
        for function in page["Functions"]
    ]  # fmt: skip

    # Then
    assert sorted(function["FunctionName"] for function in functions) == sorted(name(f) for f in declared)
    echo = next(function for function in functions if function["FunctionName"] == name("EchoFunction"))
    assert echo["FunctionArn"] == arn("EchoFunction")
    assert (echo["Runtime"], echo["Handler"], echo["Timeout"], echo["MemorySize"]) == (
        "python3.12",
        "lambda_handlers.echo",
        10,
        128,
    )
    assert echo["Environment"] == {"Variables": {"GREETING": "hello"}}


def test_get_function_gives_the_configuration_the_stack_tags_and_the_code_folder(lambda_client: LambdaClient) -> None:
    # When
    function = lambda_client.get_function(FunctionName=name("ThrottledFunction"))

    # Then
    assert function["Configuration"]["FunctionName"] == name("ThrottledFunction")
    assert function["Configuration"]["Version"] == "$LATEST"
    assert function["Tags"]["aws:cloudformation:logical-id"] == "ThrottledFunction"
    assert function["Tags"]["aws:cloudformation:stack-name"] == STACK
    assert function["Code"]["Location"] == (TEMPLATE.parent / "src").resolve().as_uri()
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 0}


def test_get_function_configuration_answers_by_name_arn_and_partial_arn(lambda_client: LambdaClient) -> None:
    # When
    by_each = [
        lambda_client.get_function_configuration(FunctionName=given)
        for given in (name("EchoFunction"), arn("EchoFunction"), f"{ACCOUNT_ID}:function:{name('EchoFunction')}")
    ]

    # Then
    assert {configuration["FunctionArn"] for configuration in by_each} == {arn("EchoFunction")}
    assert by_each[0]["Description"] == "Returns its event."


@pytest.mark.parametrize("given", ["NoSuchFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:NoSuchFunction"])
def test_an_unknown_function_is_resource_not_found(lambda_client: LambdaClient, given: str) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=given, Payload=b"{}")

    # Then
    assert error_code(error) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:NoSuchFunction",
    )


def test_a_request_response_invocation_answers_the_functions_result(lambda_client: LambdaClient) -> None:
    # Given
    event = {"id": str(uuid.uuid4()), "items": [1, 2]}

    # When
    answer, payload = invoke(lambda_client, "EchoFunction", event)

    # Then
    assert payload == event
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    assert "LogResult" not in answer


def test_the_log_tail_is_the_base64_end_of_the_invocations_log(lambda_client: LambdaClient) -> None:
    # Given: an event the function echoes into its log, more than the tail holds
    event = {"padding": "p" * (2 * LOG_TAIL_BYTES)}

    # When
    answer, _ = invoke(lambda_client, "EchoFunction", event, LogType="Tail")

    # Then
    tail = base64.b64decode(answer["LogResult"])
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert len(tail) == LOG_TAIL_BYTES
    lines = tail.decode().splitlines()
    assert lines[-2] == f"END RequestId: {request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Billed Duration: " in lines[-1]
    assert "Memory Size: 128 MB" in lines[-1]
    assert lines[0].endswith(f'p"}} in {name("EchoFunction")}')


def test_a_function_error_is_a_200_with_the_unhandled_error_payload(lambda_client: LambdaClient) -> None:
    # When
    answer, payload = invoke(lambda_client, "FailingFunction", {})

    # Then
    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    assert payload["errorType"] == "OrderRejectedError"
    assert payload["errorMessage"] == "order 42 has no items"
    assert payload["requestId"] == answer["ResponseMetadata"]["RequestId"]
    assert any("lambda_handlers.py" in frame for frame in payload["stackTrace"])


def test_a_timeout_is_a_function_error_after_the_functions_timeout(lambda_client: LambdaClient) -> None:
    # When
    answer, payload = invoke(lambda_client, "SlowFunction", {"seconds": 5})

    # Then
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert answer["FunctionError"] == "Unhandled"
    assert payload == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }


def test_a_synchronous_request_beyond_six_megabytes_is_refused_and_runs_nothing(
    cloud: LocalCloud, lambda_client: LambdaClient
) -> None:
    # Given
    assert cloud.runtime is not None
    before = cloud.runtime.stats()["EchoFunction"].invocations
    too_large = json.dumps({"padding": "p" * SYNC_PAYLOAD_LIMIT}).encode()

    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=name("EchoFunction"), Payload=too_large)

    # Then
    status, code, message = error_code(error)
    assert (status, code) == (413, "RequestTooLargeException")
    assert str(SYNC_PAYLOAD_LIMIT) in message
    assert cloud.runtime.stats()["EchoFunction"].invocations == before


def test_an_event_beyond_256_kilobytes_is_refused_though_it_could_run_in_sync(
    lambda_client: LambdaClient,
) -> None:
    # Given
    event = {"padding": "p" * ASYNC_PAYLOAD_LIMIT}
    _, echoed = invoke(lambda_client, "EchoFunction", event)

    # When
    with pytest.raises(ClientError) as error:
        invoke(lambda_client, "EchoFunction", event, InvocationType="Event")

    # Then
    assert echoed == event
    assert error_code(error)[:2] == (413, "RequestTooLargeException")


def test_an_answer_beyond_the_response_limit_becomes_a_function_error(lambda_client: LambdaClient) -> None:
    # When
    answer, payload = invoke(lambda_client, "LargeAnswerFunction", {"size": RESPONSE_PAYLOAD_LIMIT})

    # Then
    assert answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Function.ResponseSizeTooLarge"


def test_a_payload_that_is_not_json_is_invalid_request_content(lambda_client: LambdaClient) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=name("EchoFunction"), Payload=b"{not json")

    # Then
    assert error_code(error)[:2] == (400, "InvalidRequestContentException")


def test_a_dry_run_checks_the_call_and_runs_nothing(cloud: LocalCloud, lambda_client: LambdaClient) -> None:
    # Given
    assert cloud.runtime is not None
    before = cloud.runtime.stats()["EchoFunction"].invocations

    # When
    answer, payload = invoke(lambda_client, "EchoFunction", {"x": 1}, InvocationType="DryRun")

    # Then
    assert (answer["StatusCode"], payload) == (204, None)
    assert cloud.runtime.stats()["EchoFunction"].invocations == before


@pytest.mark.parametrize("qualifier", ["$LATEST", "live"])
def test_the_latest_version_and_the_template_alias_run_the_current_code(
    lambda_client: LambdaClient, qualifier: str
) -> None:
    # When
    by_parameter = lambda_client.invoke(FunctionName=name("EchoFunction"), Qualifier=qualifier, Payload=b'{"q": 1}')
    by_name = lambda_client.invoke(FunctionName=f"{arn('EchoFunction')}:{qualifier}", Payload=b'{"q": 2}')

    # Then
    assert json.loads(by_parameter["Payload"].read()) == {"q": 1}
    assert json.loads(by_name["Payload"].read()) == {"q": 2}


def test_a_version_or_alias_the_template_does_not_publish_is_not_found(lambda_client: LambdaClient) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=name("EchoFunction"), Qualifier="7", Payload=b"{}")

    # Then
    assert error_code(error) == (404, "ResourceNotFoundException", f"Function not found: {arn('EchoFunction')}:7")


def test_a_qualifier_in_the_name_that_contradicts_the_parameter_is_invalid(lambda_client: LambdaClient) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=f"{name('EchoFunction')}:live", Qualifier="$LATEST", Payload=b"{}")

    # Then
    assert error_code(error)[:2] == (400, "InvalidParameterValueException")


def test_a_function_without_concurrency_is_throttled(lambda_client: LambdaClient) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=name("ThrottledFunction"), Payload=b"{}")

    # Then
    assert error_code(error) == (429, "TooManyRequestsException", "Rate Exceeded.")
    assert error.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"  # type: ignore[typeddict-item]


def test_a_function_that_invokes_another_reaches_the_local_one(lambda_client: LambdaClient) -> None:
    # When
    answer, payload = invoke(lambda_client, "CallerFunction", {"hop": 1})

    # Then
    assert "FunctionError" not in answer, payload
    assert payload == {"status": 200, "payload": {"hop": 1}}


def test_a_failing_event_is_tried_three_times_then_sent_to_its_destination_and_dead_letter_queue(
    cloud: LocalCloud, lambda_client: LambdaClient, sqs: SQSClient
) -> None:
    # Given
    event = {"id": str(uuid.uuid4())}
    assert cloud.runtime is not None
    before = cloud.runtime.stats()["AlwaysFailingEventFunction"].invocations

    # When
    answer, payload = invoke(lambda_client, "AlwaysFailingEventFunction", event, InvocationType="Event")

    # Then
    assert (answer["StatusCode"], payload) == (202, None)
    request_id = answer["ResponseMetadata"]["RequestId"]
    [failure] = queued_bodies(sqs, "FailureQueue", 1)
    record = failure["body"]
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{arn('AlwaysFailingEventFunction')}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "OrderRejectedError"
    [dead_letter] = queued_bodies(sqs, "DeadLetterQueue", 1)
    assert dead_letter["body"] == event
    assert dead_letter["attributes"]["RequestID"]["StringValue"] == request_id
    assert dead_letter["attributes"]["ErrorMessage"]["StringValue"] == "OrderRejectedError: order 42 has no items"
    assert cloud.runtime.stats()["AlwaysFailingEventFunction"].invocations == before + 3


def test_a_successful_event_goes_to_its_on_success_destination(lambda_client: LambdaClient, sqs: SQSClient) -> None:
    # Given
    event = {"id": str(uuid.uuid4())}

    # When
    answer, _ = invoke(lambda_client, "SucceedingEventFunction", event, InvocationType="Event")

    # Then
    [success] = queued_bodies(sqs, "SuccessQueue", 1)
    record = success["body"]
    assert record["requestContext"]["requestId"] == answer["ResponseMetadata"]["RequestId"]
    assert (record["requestContext"]["condition"], record["requestContext"]["approximateInvokeCount"]) == (
        "Success",
        1,
    )
    assert record["requestPayload"] == record["responsePayload"] == event
    assert "functionError" not in record["responseContext"]


def test_an_unknown_invocation_type_is_a_validation_error(lambda_client: LambdaClient) -> None:
    # When
    with pytest.raises(ClientError) as error:
        lambda_client.invoke(FunctionName=name("EchoFunction"), InvocationType="Later", Payload=b"{}")

    # Then
    assert error_code(error)[:2] == (400, "ValidationException")
