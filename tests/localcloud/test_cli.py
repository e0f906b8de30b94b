"""The `localcloud` command, run as users run it: `up` in the background, the other commands against it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from localcloud.emulator import emulator_session
from localcloud.operations import list_mail, list_metrics, tail_logs
from localcloud.template import load_template
from tests.localcloud.fixture_app_client import FIXTURE_APP, FIXTURE_TEMPLATE, PATIENCE_S, call_api, wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_sqs import SQSClient

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = str(FIXTURE_TEMPLATE.relative_to(REPO))
HEARTBEAT_EVENT = str((FIXTURE_APP / "events" / "heartbeat.json").relative_to(REPO))
# The stack name `localcloud` gives the fixture app: its folder's name.
STACK = "fixture-app"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
BANNER_END = "Ctrl-C stops everything."
# The environment of the commands: none of the host's AWS credentials or configuration.
CLI_ENVIRONMENT = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")} | {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "PYTHONUNBUFFERED": "1",
}


def run_aws(up: UpProcess, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The aws CLI (v1, from the dev tools) against the running cloud, with throwaway credentials."""
    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}
    return subprocess.run(
        [sys.executable, "-m", "awscli", *arguments, "--endpoint-url", up.endpoint_url, "--output", "json"],
        cwd=REPO,
        env=CLI_ENVIRONMENT | credentials,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S * 2,
        check=False,
    )


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *arguments],
        cwd=REPO,
        env=CLI_ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S * 2,
        check=False,
    )


def stop_gently(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, and a kill of this one process only if it does not stop."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(PATIENCE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class UpProcess:
    """A `localcloud up` running in the background, its output going to files."""

    process: subprocess.Popen[bytes]
    stdout_file: Path
    endpoint_url: str
    api_url: str

    @classmethod
    def start(cls, folder: Path, *options: str) -> UpProcess:
        folder.mkdir(parents=True, exist_ok=True)
        stdout_file, stderr_file = folder / "up.out", folder / "up.err"
        command = [sys.executable, "-m", "localcloud", "up", "--template", TEMPLATE, "--no-payments"]
        with stdout_file.open("wb") as stdout, stderr_file.open("wb") as stderr:
            process = subprocess.Popen(
                [*command, "--aws-port", "0", "--api-port", "0", *options],
                cwd=REPO,
                env=CLI_ENVIRONMENT,
                stdout=stdout,
                stderr=stderr,
            )

        def banner() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"localcloud up exited with {process.returncode}: {stderr_file.read_text()}")
            text = stdout_file.read_text()
            return text if BANNER_END in text else None

        try:
            text = wait_for(banner, "the banner of localcloud up", timeout_s=PATIENCE_S * 2)
        except BaseException:
            stop_gently(process)
            raise
        return cls(process, stdout_file, _banner_url(text, "AWS emulator"), _banner_url(text, "API"))

    @property
    def banner(self) -> str:
        return self.stdout_file.read_text()

    def interrupt(self) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(PATIENCE_S)


def container_host(up: UpProcess) -> str:
    """The host `up --bind-for-containers` says containers reach it at (the Docker bridge's, where there is one)."""
    found = re.search(r"^Containers +reach it at (\S+) ", up.banner, re.MULTILINE)
    assert found is not None, up.banner
    return found.group(1)


def _banner_url(banner: str, label: str) -> str:
    found = re.search(rf"^{label} +(http://\S+)", banner, re.MULTILINE)
    assert found is not None, banner
    return found.group(1)


@pytest.fixture(scope="module")
def running_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    # One `up` for the commands that look into a running cloud; each of them uses data of its own.
    up = UpProcess.start(
        tmp_path_factory.mktemp("up"), "--state-dir", str(tmp_path_factory.mktemp("state")), "--bind-for-containers"
    )
    yield up
    stop_gently(up.process)


@pytest.fixture
def start_up() -> Iterator[Callable[..., UpProcess]]:
    started: list[UpProcess] = []

    def start(folder: Path, *options: str) -> UpProcess:
        up = UpProcess.start(folder, *options)
        started.append(up)
        return up

    yield start
    for up in started:
        stop_gently(up.process)


@pytest.fixture
def endpoint_nobody_answers() -> Iterator[str]:
    # Bound but not listening: connections are refused, and no other program can take the port meanwhile.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{reserved.getsockname()[1]}"


def dynamodb(up: UpProcess) -> DynamoDBClient:
    return emulator_session(REGION).client("dynamodb", endpoint_url=up.endpoint_url)


def sqs(up: UpProcess) -> SQSClient:
    return emulator_session(REGION).client("sqs", endpoint_url=up.endpoint_url)


def queue_url(up: UpProcess, logical_id: str) -> str:
    return sqs(up).get_queue_url(QueueName=f"{STACK}-{logical_id}")["QueueUrl"]


def stored_item(up: UpProcess, key: str) -> dict[str, AttributeValueTypeDef] | None:
    return dynamodb(up).get_item(TableName=f"{STACK}-ItemsTable", Key={"pk": {"S": key}}).get("Item")


def parked_bodies(up: UpProcess) -> list[str]:
    received = sqs(up).receive_message(QueueUrl=queue_url(up, "ParkedQueue"), MaxNumberOfMessages=10)
    return [message["Body"] for message in received.get("Messages", [])]


def table_rows(output: str) -> list[list[str]]:
    return [re.split(r" {2,}", line.strip()) for line in output.splitlines()]


def token() -> str:
    return f"allow-user-{uuid.uuid4().hex[:8]}"


def declared_variables() -> dict[str, set[str]]:
    """The environment variable names the fixture template declares for each function, Globals included."""
    template = load_template(FIXTURE_TEMPLATE)
    global_variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    return {
        logical_id: global_variables | set(resource["Properties"].get("Environment", {}).get("Variables", {}))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_up_prints_the_banner_and_serves_the_api(running_up: UpProcess) -> None:
    # When
    answer = call_api(running_up.api_url, "GET", "/hello")

    # Then
    assert (answer.status, answer.body) == (200, {"message": "hello"})
    banner = running_up.banner
    functions = sorted(declared_variables())
    assert f"Functions         {len(functions)} ({', '.join(functions)})" in banner
    assert f"Try               curl -i {running_up.api_url}/hello" in banner


def test_ctrl_c_keeps_the_data_for_the_next_up_and_reset_forgets_it(
    start_up: Callable[..., UpProcess], tmp_path: Path
) -> None:
    # Given: an item, a mail and a message nobody consumes, written in a first `up`
    state = ("--state-dir", str(tmp_path / "state"))
    first = start_up(tmp_path / "first", *state)
    item_id = uuid.uuid4().hex
    subject = f"Kept {uuid.uuid4().hex}"
    call_api(first.api_url, "PUT", f"/items/{item_id}", body="kept", token=token())
    mail = json.dumps({"to": "keeper@example.com", "subject": subject, "text": "Kept across restarts."})
    call_api(first.api_url, "POST", "/mail", body=mail, token=token())
    sqs(first).send_message(QueueUrl=queue_url(first, "ParkedQueue"), MessageBody="parked")

    # When
    first_exit = first.interrupt()
    second = start_up(tmp_path / "second", *state)

    # Then
    assert first_exit == 0
    assert (tmp_path / "state" / "aws-state.json").is_file()
    assert call_api(second.api_url, "GET", f"/items/{item_id}", token=token()).body == {"id": item_id, "text": "kept"}
    assert [sent.subject for sent in list_mail(second.endpoint_url)] == [subject]
    assert parked_bodies(second) == ["parked"]
    assert second.interrupt() == 0

    # When
    third = start_up(tmp_path / "third", *state, "--reset")

    # Then
    assert call_api(third.api_url, "GET", f"/items/{item_id}", token=token()).status == 404
    assert list_mail(third.endpoint_url) == []
    assert parked_bodies(third) == []


def test_invoke_prints_the_result_and_exits_0(running_up: UpProcess, tmp_path: Path) -> None:
    # Given
    event_id = str(uuid.uuid4())
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"id": event_id, "time": "2024-05-01T12:00:00Z"}))

    # When
    result = run_cli(
        "invoke",
        "HeartbeatFunction",
        "--event",
        str(event_file),
        "-t",
        TEMPLATE,
        "--endpoint-url",
        running_up.endpoint_url,
    )

    # Then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pk": f"heartbeat#{event_id}"}
    assert stored_item(running_up, f"heartbeat#{event_id}") is not None


def test_invoke_of_a_failing_function_prints_the_error_and_exits_1(running_up: UpProcess, tmp_path: Path) -> None:
    # Given
    event_file = tmp_path / "event.json"
    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:abcdef1234/test/GET/whoami"
    event_file.write_text(json.dumps({"type": "TOKEN", "authorizationToken": "forged", "methodArn": method_arn}))

    # When
    result = run_cli(
        "invoke", "AuthorizerFunction", "-e", str(event_file), "-t", TEMPLATE, "--endpoint-url", running_up.endpoint_url
    )

    # Then
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert (error["errorType"], error["errorMessage"]) == ("Exception", "Unauthorized")
    assert error["requestId"] in result.stderr


def test_invoke_runs_the_running_stacks_warm_worker_and_prints_what_sam_local_prints(
    running_up: UpProcess, tmp_path: Path
) -> None:
    # Given
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"id": str(uuid.uuid4()), "time": "2024-05-01T12:00:00Z"}))
    arguments = ["invoke", "HeartbeatFunction", "-e", str(event_file), "--endpoint-url", running_up.endpoint_url]
    run_cli(*arguments)

    # When
    result = run_cli(*arguments)

    # Then
    assert result.returncode == 0, result.stderr
    report = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\t"
        r"Max Memory Used: \d+ MB",
        report,
    ), report
    assert result.stderr.splitlines()[0].startswith("START RequestId: ")


def test_invoke_starts_the_function_cold_when_no_stack_serves_it(moto_endpoint: str, tmp_path: Path) -> None:
    # Given: an emulator with no Lambda API of its own (moto's lists no functions)
    event_file = tmp_path / "event.json"
    event_id = str(uuid.uuid4())
    event_file.write_text(json.dumps({"id": event_id, "time": "2024-05-01T12:00:00Z"}))

    # When
    result = run_cli(
        "invoke", "HeartbeatFunction", "-e", str(event_file), "-t", TEMPLATE, "--endpoint-url", moto_endpoint
    )

    # Then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"pk": f"heartbeat#{event_id}"}
    report = next(line for line in result.stderr.splitlines() if line.startswith("REPORT RequestId: "))
    assert re.search(r"\tInit Duration: [\d.]+ ms$", report), report


def test_the_aws_cli_invokes_and_lists_the_running_stacks_functions(running_up: UpProcess, tmp_path: Path) -> None:
    # Given
    event_id = str(uuid.uuid4())
    payload = json.dumps({"id": event_id, "time": "2024-05-01T12:00:00Z"})
    output = tmp_path / "out.json"

    # When
    invoked = run_aws(running_up, "lambda", "invoke", "--function-name", f"{STACK}-HeartbeatFunction",
                      "--payload", payload, str(output))  # fmt: skip
    listed = run_aws(running_up, "lambda", "list-functions")

    # Then
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(output.read_text()) == {"pk": f"heartbeat#{event_id}"}
    assert listed.returncode == 0, listed.stderr
    names = {function["FunctionName"] for function in json.loads(listed.stdout)["Functions"]}
    assert names == {f"{STACK}-{logical_id}" for logical_id in declared_variables()}


def test_queues_shows_depths_and_dead_letter_relations(running_up: UpProcess) -> None:
    # Given
    sqs(running_up).send_message(QueueUrl=queue_url(running_up, "ParkedQueue"), MessageBody="waiting")

    # When
    result = run_cli("queues", "--endpoint-url", running_up.endpoint_url)

    # Then
    assert result.returncode == 0, result.stderr
    rows = {row[0]: row[1:] for row in table_rows(result.stdout)}
    assert rows["QUEUE"] == ["VISIBLE", "IN FLIGHT", "DELAYED", "ROLE"]
    assert rows[f"{STACK}-ParkedQueue"] == ["1", "0", "0"]
    assert rows[f"{STACK}-JobsQueue"][-1] == f"-> {STACK}-JobsDeadLetterQueue after 2 receives"
    assert rows[f"{STACK}-JobsDeadLetterQueue"][-1] == f"dead letters of {STACK}-JobsQueue"


def test_mail_shows_what_the_functions_sent(running_up: UpProcess) -> None:
    # Given
    recipient = f"{uuid.uuid4().hex}@example.com"
    subject = f"Hello {recipient}"
    mail = json.dumps({"to": recipient, "subject": subject, "text": "A line of text."})
    assert call_api(running_up.api_url, "POST", "/mail", body=mail, token=token()).status == 202

    # When
    result = run_cli("mail", "--endpoint-url", running_up.endpoint_url)

    # Then
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"^--- .+  from noreply@fixture\.example  to {re.escape(recipient)}$", result.stdout, re.MULTILINE
    )
    assert f"Subject: {subject}\nA line of text.\n" in result.stdout


def test_metrics_shows_what_the_functions_emitted(running_up: UpProcess) -> None:
    # Given
    marker = uuid.uuid4().hex
    call_api(running_up.api_url, "GET", f"/report?marker={marker}")
    wait_for(
        lambda: (
            [m for m in list_metrics(running_up.endpoint_url, "FixtureApp") if ("Marker", marker) in m.dimensions]
            or None
        ),
        "the report's metric",
    )

    # When
    result = run_cli("metrics", "--namespace", "FixtureApp", "--endpoint-url", running_up.endpoint_url)

    # Then
    assert result.returncode == 0, result.stderr
    assert ["FixtureApp", "Reports", f"Marker={marker}", "1", "1", "Count"] in table_rows(result.stdout)


def test_logs_prints_a_functions_lines(running_up: UpProcess) -> None:
    # Given
    marker = uuid.uuid4().hex
    call_api(running_up.api_url, "GET", f"/report?marker={marker}")
    wait_for(
        lambda: (
            [
                event
                for event in tail_logs(running_up.endpoint_url, f"{STACK}-ReportFunction")
                if f"report {marker} done" in event.message
            ]
            or None
        ),
        "the report's log lines",
    )

    # When
    result = run_cli("logs", "ReportFunction", "--endpoint-url", running_up.endpoint_url)

    # Then
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^\d\d:\d\d:\d\d report {marker} started$", result.stdout, re.MULTILINE)
    assert re.search(rf"^\d\d:\d\d:\d\d report {marker} done$", result.stdout, re.MULTILINE)


def test_dlq_redrive_sends_dead_letters_back_to_their_queue(running_up: UpProcess) -> None:
    # Given
    body = f"job-{uuid.uuid4().hex}"
    sqs(running_up).send_message(QueueUrl=queue_url(running_up, "JobsDeadLetterQueue"), MessageBody=body)

    # When
    result = run_cli("dlq", "redrive", "JobsDeadLetterQueue", "--endpoint-url", running_up.endpoint_url)

    # Then
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"moved 1 message(s) from {STACK}-JobsDeadLetterQueue back to its source queue\n"
    wait_for(lambda: stored_item(running_up, f"job#{body}"), "the worker recording the redriven job")


def test_env_vars_gives_every_declared_variable_resolved_for_a_container(running_up: UpProcess, tmp_path: Path) -> None:
    # Given
    output = tmp_path / "env.json"
    emulator_port = running_up.endpoint_url.rsplit(":", 1)[1]
    container_endpoint = f"http://{container_host(running_up)}:{emulator_port}"

    # When
    result = run_cli("env-vars", "-t", TEMPLATE, "--endpoint-url", running_up.endpoint_url, "--output", str(output))

    # Then
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    declared = declared_variables()
    assert {name: set(variables) for name, variables in document.items()} == {
        name: variables | {"AWS_ENDPOINT_URL"} for name, variables in declared.items()
    }
    assert document["ApiFunction"] == {
        "AWS_ENDPOINT_URL": container_endpoint,
        "JOBS_QUEUE_URL": f"{container_endpoint}/{ACCOUNT_ID}/{STACK}-JobsQueue",
        "SENDER": "noreply@fixture.example",
        "TABLE_NAME": f"{STACK}-ItemsTable",
    }
    assert all(
        variables["AWS_ENDPOINT_URL"] == container_endpoint and variables["TABLE_NAME"] == f"{STACK}-ItemsTable"
        for variables in document.values()
    )
    undeclared = sorted(name for name, variables in declared.items() if "AWS_ENDPOINT_URL" not in variables)
    assert result.stderr.splitlines() == [
        f"localcloud: note: {', '.join(undeclared)} do not declare AWS_ENDPOINT_URL in the template, and sam local "
        "passes only declared variables: under sam local these functions call the real AWS"
    ]


def test_env_vars_notes_that_an_emulator_on_the_loopback_only_is_out_of_containers_reach(
    start_up: Callable[..., UpProcess], tmp_path: Path
) -> None:
    # Given
    up = start_up(tmp_path / "up", "--state-dir", str(tmp_path / "state"))

    # When
    result = run_cli("env-vars", "-t", TEMPLATE, "--endpoint-url", up.endpoint_url, "-o", "-")

    # Then
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"localcloud: note: the emulator at {up.endpoint_url} listens on the loopback only, and a container cannot "
        "reach it; start it with `localcloud up --bind-for-containers`"
    )


def test_up_bound_for_a_given_host_listens_there_too_and_env_vars_writes_it(
    start_up: Callable[..., UpProcess], tmp_path: Path
) -> None:
    # Given: another loopback address stands for the Docker bridge's
    up = start_up(tmp_path / "up", "--state-dir", str(tmp_path / "state"), "--bind-for-containers", "127.0.0.2")
    port = up.endpoint_url.rsplit(":", 1)[1]

    # When
    result = run_cli("env-vars", "-t", TEMPLATE, "--endpoint-url", up.endpoint_url, "-o", "-")

    # Then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["JobsFunction"]["AWS_ENDPOINT_URL"] == f"http://127.0.0.2:{port}"
    queues = emulator_session(REGION).client("sqs", endpoint_url=f"http://127.0.0.2:{port}").list_queues()
    assert f"{STACK}-JobsQueue" in " ".join(queues["QueueUrls"])
    assert container_host(up) == "127.0.0.2"
    assert "(listening on 127.0.0.2 too; localcloud env-vars writes it)" in up.banner


def test_env_vars_uses_the_container_host_given(running_up: UpProcess) -> None:
    # When
    result = run_cli(
        "env-vars",
        "-t",
        TEMPLATE,
        "--endpoint-url",
        running_up.endpoint_url,
        "--container-host",
        "172.17.0.1",
        "-o",
        "-",
    )

    # Then
    assert result.returncode == 0, result.stderr
    emulator_port = running_up.endpoint_url.rsplit(":", 1)[1]
    assert json.loads(result.stdout)["JobsFunction"]["AWS_ENDPOINT_URL"] == f"http://172.17.0.1:{emulator_port}"


def test_env_vars_adds_no_note_when_every_function_declares_the_endpoint(running_up: UpProcess, tmp_path: Path) -> None:
    # Given
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  EchoFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
        "      CodeUri: src/\n"
        "      Handler: app.handler\n"
        "      Environment:\n"
        "        Variables:\n"
        '          AWS_ENDPOINT_URL: ""\n'
    )

    # When
    result = run_cli("env-vars", "-t", str(template), "--endpoint-url", running_up.endpoint_url, "-o", "-")

    # Then
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert list(json.loads(result.stdout)) == ["EchoFunction"]


@pytest.mark.parametrize(
    "arguments",
    [
        ["up", "--api-port", "x"],
        ["invoke", "HeartbeatFunction"],
        ["frobnicate"],
        ["queues", "--endpoint-url", "127.0.0.1:4566"],
        ["env-vars", "--container-host", "http://host.docker.internal"],
    ],
    ids=["port-not-a-number", "invoke-without-event", "unknown-command", "endpoint-not-a-url", "host-not-a-host"],
)
def test_bad_arguments_get_one_line_and_exit_2(arguments: list[str]) -> None:
    # When
    result = run_cli(*arguments)

    # Then
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("localcloud")
    assert result.stdout == ""


def test_invoke_with_a_missing_event_file_gets_one_line_and_exits_1(tmp_path: Path) -> None:
    # When
    result = run_cli("invoke", "HeartbeatFunction", "--event", str(tmp_path / "missing.json"), "-t", TEMPLATE)

    # Then
    assert result.returncode == 1
    assert (
        result.stderr
        == f"localcloud: error: cannot read the event {tmp_path / 'missing.json'}: No such file or directory\n"
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ["queues"],
        ["mail"],
        ["metrics"],
        ["logs", "ReportFunction"],
        ["dlq", "redrive", "JobsDeadLetterQueue"],
        ["invoke", "HeartbeatFunction", "--event", HEARTBEAT_EVENT, "-t", TEMPLATE],
        ["env-vars", "-t", TEMPLATE, "-o", "-"],
    ],
    ids=lambda arguments: " ".join(arguments[:2]),
)
def test_commands_without_a_running_emulator_get_one_line_and_exit_1(
    arguments: list[str], endpoint_nobody_answers: str
) -> None:
    # When
    result = run_cli(*arguments, "--endpoint-url", endpoint_nobody_answers)

    # Then
    assert result.returncode == 1
    assert result.stderr.startswith("localcloud: error: ")
    assert endpoint_nobody_answers in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""
