"""The Lambda runtime: warm workers, Lambda's environment and errors, isolation, output, metrics, hot reload."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localcloud.function_logs import FunctionLogs, InvalidEmfError, metric_data_from_emf
from localcloud.runtime import LambdaRuntime, RuntimeClosedError
from localcloud.spec import FunctionSpec, Invocation

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient

FUNCTIONS_DIR = Path(__file__).parent / "runtime_functions"
LAYER_DIR = FUNCTIONS_DIR / "layer"
REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
# An upper bound for waiting on something that normally takes a fraction of a second.
PATIENCE_S = 15.0
# Lambda's: the date, the version, and an id of the execution environment.
LOG_STREAM_NAME = r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}"


class MakeFunction(Protocol):
    def __call__(
        self,
        handler: str,
        *,
        timeout_s: int = 3,
        memory_mb: int = 128,
        reserved_concurrency: int | None = None,
        environment: dict[str, str] | None = None,
        code_dir: Path = FUNCTIONS_DIR,
    ) -> FunctionSpec: ...


@dataclass(frozen=True)
class RunningRuntime:
    runtime: LambdaRuntime
    logs: FunctionLogs
    console: io.StringIO


class StartRuntime(Protocol):
    def __call__(
        self, *functions: FunctionSpec, endpoint_url: str | None = None, ship_output: bool = False, watch: bool = False
    ) -> RunningRuntime: ...


@pytest.fixture
def make_function() -> MakeFunction:
    def make(
        handler: str,
        *,
        timeout_s: int = 3,
        memory_mb: int = 128,
        reserved_concurrency: int | None = None,
        environment: dict[str, str] | None = None,
        code_dir: Path = FUNCTIONS_DIR,
    ) -> FunctionSpec:
        logical_id = "Fn" + uuid.uuid4().hex[:8]
        function_name = f"test-stack-{logical_id}"
        return FunctionSpec(
            logical_id=logical_id,
            function_name=function_name,
            arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
            handler=handler,
            runtime="python3.12",
            code_dir=code_dir,
            layer_dirs=(LAYER_DIR,),
            environment=environment or {},
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            reserved_concurrency=reserved_concurrency,
        )

    return make


@pytest.fixture
def start_runtime() -> Iterator[StartRuntime]:
    started: list[RunningRuntime] = []

    def start(
        *functions: FunctionSpec, endpoint_url: str | None = None, ship_output: bool = False, watch: bool = False
    ) -> RunningRuntime:
        console = io.StringIO()
        logs = FunctionLogs(console=console, endpoint_url=endpoint_url if ship_output else None, region=REGION)
        runtime = LambdaRuntime(
            {function.logical_id: function for function in functions},
            endpoint_url=endpoint_url,
            region=REGION,
            account_id=ACCOUNT_ID,
            output=logs,
            watch=watch,
        )
        running = RunningRuntime(runtime, logs, console)
        started.append(running)
        return running

    yield start
    for running in started:
        running.runtime.close()
        running.logs.close()


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def logs_client(endpoint_url: str) -> CloudWatchLogsClient:
    return boto3.client(
        "logs", endpoint_url=endpoint_url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def cloudwatch_client(endpoint_url: str) -> CloudWatchClient:
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def payload(invocation: Invocation) -> Any:
    """The invocation's payload, typed for indexing: each test knows the shape its handler returns."""
    return invocation.payload


def invoke_concurrently(runtime: LambdaRuntime, calls: list[tuple[str, object]]) -> list[Invocation]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(runtime.invoke, logical_id, event) for logical_id, event in calls]
        return [future.result(PATIENCE_S) for future in futures]


def test_warm_invocations_reuse_the_worker_and_only_the_first_reports_init(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.handler")
    runtime = start_runtime(function).runtime

    # When
    first = runtime.invoke(function.logical_id, {"n": 1})
    second = runtime.invoke(function.logical_id, {"n": 2})

    # Then
    assert payload(first)["pid"] == payload(second)["pid"]
    assert payload(first)["imported_at"] == payload(second)["imported_at"]
    assert payload(second)["invocations_in_this_process"] == 2
    assert payload(second)["event"] == {"n": 2}
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None
    stats = runtime.stats()[function.logical_id]
    assert (stats.invocations, stats.errors, stats.cold_starts) == (2, 0, 1)
    assert len(stats.recent_durations_ms) == 2


def test_worker_gets_lambdas_environment_and_nothing_of_the_host(
    make_function: MakeFunction, start_runtime: StartRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.setenv("HOST_ONLY_SECRET", "must not leak")
    function = make_function("introspection.environment", memory_mb=512, environment={"TABLE_NAME": "orders"})
    runtime = start_runtime(function, endpoint_url="http://127.0.0.1:4566").runtime

    # When
    environment = payload(runtime.invoke(function.logical_id, {}))

    # Then
    expected = {
        "TABLE_NAME": "orders",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_HANDLER": "introspection.environment",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ["PATH"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    }
    assert {name: environment[name] for name in expected} == expected
    assert re.fullmatch(LOG_STREAM_NAME, environment["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert environment["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    # CPython itself adds LC_CTYPE when LANG names a locale the host lacks (PEP 538 locale coercion).
    variable_names = set(expected) | {"AWS_LAMBDA_LOG_STREAM_NAME", "_X_AMZN_TRACE_ID", "LC_CTYPE"}
    if "LD_LIBRARY_PATH" in os.environ:
        variable_names.add("LD_LIBRARY_PATH")
    assert set(environment) <= variable_names
    assert "HOST_ONLY_SECRET" not in environment


def test_handler_imports_from_its_code_dir_first_then_its_layers(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.search_path")
    runtime = start_runtime(function).runtime

    # When
    search_path = payload(runtime.invoke(function.logical_id, {}))

    # Then
    # After them comes the interpreter's own path (standard library, then the venv's site-packages standing in
    # for the layers' requirements) and nothing else: not the repository, not localcloud.
    interpreter_path = subprocess.run(
        [sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert search_path == [str(FUNCTIONS_DIR), str(LAYER_DIR), *json.loads(interpreter_path)]


def test_context_has_lambdas_fields_and_counts_down_from_the_timeout(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("introspection.context_fields", timeout_s=5, memory_mb=256)
    runtime = start_runtime(function).runtime

    # When
    invocation = runtime.invoke(function.logical_id, {"sleep_s": 0.3})

    # Then
    context = payload(invocation)
    assert context["aws_request_id"] == invocation.request_id
    assert context["function_name"] == function.function_name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == function.arn
    # Lambda's runtime gives the memory limit as a string.
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == f"/aws/lambda/{function.function_name}"
    assert re.fullmatch(LOG_STREAM_NAME, context["log_stream_name"])
    assert 0 < context["remaining_before_ms"] <= 5000
    assert context["remaining_after_ms"] <= context["remaining_before_ms"] - 250
    assert context["cwd"] == str(FUNCTIONS_DIR)


def test_raised_exception_becomes_an_error_shaped_like_lambdas_and_keeps_the_worker(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("failures.raise_error")
    running = start_runtime(function)

    # When
    invocation = running.runtime.invoke(function.logical_id, {})
    running.runtime.invoke(function.logical_id, {})

    # Then
    assert invocation.payload is None
    assert invocation.error is not None
    assert invocation.error.error_type == "OrderRejectedError"
    assert invocation.error.error_message == "order 42 has no items"
    assert len(invocation.error.stack_trace) == 1
    assert 'failures.py", line' in invocation.error.stack_trace[0]
    assert 'raise OrderRejectedError("order 42 has no items")' in invocation.error.stack_trace[0]
    assert not invocation.timed_out and not invocation.crashed
    logged = [line.message for line in running.logs.recent(function.logical_id, request_id=invocation.request_id)]
    assert "[ERROR] OrderRejectedError: order 42 has no items\rTraceback (most recent call last):\r" in logged[1]
    assert running.runtime.stats()[function.logical_id].cold_starts == 1


@pytest.mark.parametrize(
    ("handler", "error_type", "error_message"),
    [
        (
            "broken_import.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'broken_import': No module named 'module_that_is_not_installed'",
        ),
        (
            "no_such_module.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'no_such_module': No module named 'no_such_module'",
        ),
        ("echo.no_such_handler", "Runtime.HandlerNotFound", "Handler 'no_such_handler' missing on module 'echo'"),
        ("handler_without_module", "Runtime.MalformedHandlerName", "Bad handler 'handler_without_module'"),
    ],
)
def test_failed_init_is_reported_with_lambdas_runtime_error(
    make_function: MakeFunction, start_runtime: StartRuntime, handler: str, error_type: str, error_message: str
) -> None:
    # Given
    function = make_function(handler)
    runtime = start_runtime(function).runtime

    # When
    invocation = runtime.invoke(function.logical_id, {})

    # Then
    assert invocation.error is not None
    assert invocation.error.error_type == error_type
    assert invocation.error.error_message.startswith(error_message)
    assert invocation.init_duration_ms is not None
    assert not invocation.crashed


def test_unserialisable_return_value_is_a_marshal_error(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("failures.return_unserialisable")
    runtime = start_runtime(function).runtime

    # When
    invocation = runtime.invoke(function.logical_id, {})

    # Then
    assert invocation.error is not None
    assert invocation.error.error_type == "Runtime.MarshalError"
    assert invocation.error.error_message == "Unable to marshal response: Object of type set is not JSON serializable"


def test_decimals_are_returned_as_json_numbers_as_lambda_does(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.price")
    runtime = start_runtime(function).runtime

    # When
    invocation = runtime.invoke(function.logical_id, {})

    # Then
    assert invocation.payload == {"price": 9.99, "quantity": 3}


def test_timed_out_invocation_kills_its_worker_and_the_next_one_starts_afresh(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("failures.behave", timeout_s=1)
    running = start_runtime(function)

    # When
    timed_out = running.runtime.invoke(function.logical_id, {"action": "sleep", "seconds": 60})
    following = running.runtime.invoke(function.logical_id, {"action": "return"})

    # Then
    assert timed_out.timed_out
    assert timed_out.error is not None
    assert timed_out.error.error_type == "Sandbox.Timedout"
    assert (
        timed_out.error.error_message == f"RequestId: {timed_out.request_id} Error: Task timed out after 1.00 seconds"
    )
    logged = [line.message for line in running.logs.recent(function.logical_id, request_id=timed_out.request_id)]
    assert logged[-3].endswith(f"{timed_out.request_id} Task timed out after 1.00 seconds")
    assert "Status: timeout" in logged[-1]
    assert following.error is None
    assert following.init_duration_ms is not None
    assert running.runtime.stats()[function.logical_id].cold_starts == 2


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("exit", "Runtime exited with error: exit status 3"),
        ("kill", "Runtime exited with error: signal: killed"),
        ("sys.exit", "Runtime exited without providing a reason"),
    ],
)
def test_crashing_invocation_does_not_disturb_a_concurrent_one_nor_the_next(
    make_function: MakeFunction, start_runtime: StartRuntime, action: str, reason: str
) -> None:
    # Given
    function = make_function("failures.behave")
    runtime = start_runtime(function).runtime

    # When
    normal, crashed = invoke_concurrently(
        runtime,
        [(function.logical_id, {"action": "sleep", "seconds": 0.5}), (function.logical_id, {"action": action})],
    )
    following = runtime.invoke(function.logical_id, {"action": "return"})

    # Then
    assert normal.error is None
    assert crashed.crashed
    assert crashed.error is not None
    assert crashed.error.error_type == "Runtime.ExitError"
    assert crashed.error.error_message == f"RequestId: {crashed.request_id} Error: {reason}"
    assert following.error is None
    assert following.payload == normal.payload


def test_calls_beyond_the_warm_workers_start_new_ones(make_function: MakeFunction, start_runtime: StartRuntime) -> None:
    # Given
    function = make_function("echo.timed")
    runtime = start_runtime(function).runtime

    # When
    first, second = invoke_concurrently(
        runtime, [(function.logical_id, {"seconds": 0.5}), (function.logical_id, {"seconds": 0.5})]
    )

    # Then
    assert payload(first)["pid"] != payload(second)["pid"]
    assert runtime.stats()[function.logical_id].cold_starts == 2


def test_reserved_concurrency_of_one_serves_concurrent_calls_one_after_another(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.timed", reserved_concurrency=1)
    runtime = start_runtime(function).runtime

    # When
    invocations = invoke_concurrently(
        runtime, [(function.logical_id, {"seconds": 0.3}), (function.logical_id, {"seconds": 0.3})]
    )

    # Then
    earlier, later = sorted((payload(invocation) for invocation in invocations), key=lambda run: run["started"])
    assert earlier["pid"] == later["pid"]
    assert earlier["ended"] <= later["started"]
    assert runtime.stats()[function.logical_id].cold_starts == 1


def test_reserved_concurrency_of_zero_throttles_every_call(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.handler", reserved_concurrency=0)
    runtime = start_runtime(function).runtime

    # When
    invocation = runtime.invoke(function.logical_id, {})

    # Then
    assert invocation.error is not None
    assert invocation.error.error_type == "TooManyRequestsException"
    assert runtime.stats()[function.logical_id].cold_starts == 0


def test_output_is_shown_with_the_function_prefix_and_recorded_with_its_request_id(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("chatty.handler")
    running = start_runtime(function)

    # When
    invocation = running.runtime.invoke(function.logical_id, {"order_id": "7"})

    # Then
    prefix = f"[{function.logical_id}]"
    console = running.console.getvalue().splitlines()
    assert f"{prefix} imported chatty" in console
    assert f"{prefix} order 7 received" in console
    assert f"{prefix} to stderr" in console
    assert f"{prefix} no newline at the end" in console
    recorded = running.logs.recent(function.logical_id)
    assert [(line.request_id, line.message) for line in recorded[:2]] == [
        (None, "imported chatty"),
        (invocation.request_id, f"START RequestId: {invocation.request_id} Version: $LATEST"),
    ]
    messages = [line.message for line in running.logs.recent(function.logical_id, request_id=invocation.request_id)]
    assert messages[1:3] == ["order 7 received", "to stderr"]
    assert re.fullmatch(rf"\[WARNING\]\t\S+Z\t{invocation.request_id}\tstock is low", messages[3])
    assert messages[4:6] == ["no newline at the end", f"END RequestId: {invocation.request_id}"]
    assert messages[6].startswith(f"REPORT RequestId: {invocation.request_id}\tDuration: ")
    assert "\tMemory Size: 128 MB\t" in messages[6]
    assert "\tInit Duration: " in messages[6]


def test_powertools_logger_and_metrics_work_with_the_context(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("powertools_app.handler")
    running = start_runtime(function)

    # When
    invocation = running.runtime.invoke(function.logical_id, {"order_id": "42"})

    # Then
    assert invocation.payload == "accepted"
    lines = [line.message for line in running.logs.recent(function.logical_id, request_id=invocation.request_id)]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    log_record = next(record for record in records if record.get("message") == "order received")
    assert log_record["function_request_id"] == invocation.request_id
    assert log_record["function_arn"] == function.arn
    assert log_record["order_id"] == "42"
    assert any(record.get("OrdersReceived") == [1.0] for record in records)


def test_function_output_reaches_cloudwatch_logs_with_lambdas_start_end_and_report_lines(
    moto_endpoint: str, make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("chatty.handler")
    running = start_runtime(function, endpoint_url=moto_endpoint, ship_output=True)

    # When
    invocation = running.runtime.invoke(function.logical_id, {"order_id": "7"})
    running.logs.flush()

    # Then
    logs = logs_client(moto_endpoint)
    group = f"/aws/lambda/{function.function_name}"
    events = logs.filter_log_events(logGroupName=group)["events"]
    messages = [event["message"] for event in events]
    assert messages[:3] == [
        "imported chatty\n",
        f"START RequestId: {invocation.request_id} Version: $LATEST\n",
        "order 7 received\n",
    ]
    assert messages[-2] == f"END RequestId: {invocation.request_id}\n"
    assert messages[-1].startswith(f"REPORT RequestId: {invocation.request_id}\t")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1
    assert re.fullmatch(LOG_STREAM_NAME, streams[0]["logStreamName"])


def test_emf_lines_become_cloudwatch_metrics(
    moto_endpoint: str, make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    namespace = f"Tests{uuid.uuid4().hex[:8]}"
    function = make_function("metrics.handler")
    running = start_runtime(function, endpoint_url=moto_endpoint, ship_output=True)

    # When
    running.runtime.invoke(function.logical_id, {"namespace": namespace})
    running.logs.flush()

    # Then
    cloudwatch = cloudwatch_client(moto_endpoint)
    metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    published = {
        (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))
        for metric in metrics
    }
    assert published == {
        ("OrdersCreated", (("service", "orders"),)),
        ("OrdersCreated", (("method", "card"), ("service", "orders"))),
        ("Latency", (("service", "orders"),)),
        ("Latency", (("method", "card"), ("service", "orders"))),
    }
    now = datetime.now(UTC)
    statistics = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="Latency",
        Dimensions=[{"Name": "service", "Value": "orders"}, {"Name": "method", "Value": "card"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum", "SampleCount"],
        Unit="Milliseconds",
    )["Datapoints"]
    assert [(point["Sum"], point["SampleCount"]) for point in statistics] == [(42.0, 2.0)]


def test_changed_handler_file_is_imported_by_the_next_invocation(
    make_function: MakeFunction, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # Given
    handler_file = tmp_path / "app.py"
    handler_file.write_text("def handler(event, context):\n    return 'first version'\n")
    function = make_function("app.handler", code_dir=tmp_path)
    runtime = start_runtime(function, watch=True).runtime
    assert runtime.invoke(function.logical_id, {}).payload == "first version"

    # When
    handler_file.write_text("def handler(event, context):\n    return 'the second version'\n")

    # Then
    deadline = time.monotonic() + PATIENCE_S
    invocation = runtime.invoke(function.logical_id, {})
    while invocation.payload != "the second version" and time.monotonic() < deadline:
        time.sleep(0.1)
        invocation = runtime.invoke(function.logical_id, {})
    assert invocation.payload == "the second version"
    assert invocation.init_duration_ms is not None


def test_same_size_edit_within_the_same_second_is_not_hidden_by_cached_bytecode(
    make_function: MakeFunction, start_runtime: StartRuntime, tmp_path: Path
) -> None:
    # Given: CPython trusts a .pyc whose recorded source size and whole-second mtime still match
    handler_file = tmp_path / "app.py"
    handler_file.write_text("def handler(event, context):\n    return 'version 1'\n")
    os.utime(handler_file, ns=(1_700_000_000_100_000_000, 1_700_000_000_100_000_000))
    function = make_function("app.handler", code_dir=tmp_path)
    runtime = start_runtime(function, watch=True).runtime
    assert runtime.invoke(function.logical_id, {}).payload == "version 1"

    # When: an edit of the same size, later within that same second
    handler_file.write_text("def handler(event, context):\n    return 'version 2'\n")
    os.utime(handler_file, ns=(1_700_000_000_600_000_000, 1_700_000_000_600_000_000))

    # Then
    deadline = time.monotonic() + PATIENCE_S
    invocation = runtime.invoke(function.logical_id, {})
    while invocation.payload != "version 2" and time.monotonic() < deadline:
        time.sleep(0.1)
        invocation = runtime.invoke(function.logical_id, {})
    assert invocation.payload == "version 2"


def test_recycled_function_starts_a_new_worker(make_function: MakeFunction, start_runtime: StartRuntime) -> None:
    # Given
    function = make_function("echo.handler")
    runtime = start_runtime(function).runtime
    before = runtime.invoke(function.logical_id, {})

    # When
    runtime.recycle(function.logical_id)
    after = runtime.invoke(function.logical_id, {})

    # Then
    assert payload(after)["pid"] != payload(before)["pid"]
    assert after.init_duration_ms is not None


def test_recycling_lets_a_running_invocation_finish_and_retires_its_worker_afterwards(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.timed")
    runtime = start_runtime(function).runtime
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(runtime.invoke, function.logical_id, {"seconds": 1.0})
        deadline = time.monotonic() + PATIENCE_S
        while runtime.stats()[function.logical_id].cold_starts == 0 and time.monotonic() < deadline:
            time.sleep(0.01)

        # When
        runtime.recycle(function.logical_id)
        finished = running.result(PATIENCE_S)
    following = runtime.invoke(function.logical_id, {"seconds": 0})

    # Then
    assert finished.error is None
    assert following.init_duration_ms is not None
    assert payload(following)["pid"] != payload(finished)["pid"]


def test_busy_worker_pids_name_the_workers_in_an_invocation_and_killing_one_crashes_only_it(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("failures.behave")
    runtime = start_runtime(function).runtime
    idle_pid = payload(runtime.invoke(function.logical_id, {"action": "return"}))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(runtime.invoke, function.logical_id, {"action": "sleep", "seconds": 30})
        deadline = time.monotonic() + PATIENCE_S
        while not runtime.busy_worker_pids(function.logical_id) and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = runtime.busy_worker_pids(function.logical_id)

        # When
        os.kill(busy[0], signal.SIGKILL)
        crashed = running.result(PATIENCE_S)
    following = runtime.invoke(function.logical_id, {"action": "return"})

    # Then
    assert busy == [idle_pid]
    assert crashed.crashed
    assert runtime.busy_worker_pids(function.logical_id) == []
    assert following.error is None
    assert payload(following) != idle_pid


def test_closed_runtime_kills_its_workers_and_refuses_invocations(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.handler")
    runtime = start_runtime(function).runtime
    pid = payload(runtime.invoke(function.logical_id, {}))["pid"]

    # When
    runtime.close()
    runtime.close()

    # Then
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeClosedError):
        runtime.invoke(function.logical_id, {})


def test_unknown_function_and_unserialisable_event_are_clear_errors(
    make_function: MakeFunction, start_runtime: StartRuntime
) -> None:
    # Given
    function = make_function("echo.handler")
    runtime = start_runtime(function).runtime

    # When / Then
    with pytest.raises(ValueError, match="no function with logical id 'Missing'"):
        runtime.invoke("Missing", {})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        runtime.invoke(function.logical_id, {"when": object()})


@pytest.mark.parametrize(
    ("arn", "code_dir", "reason"),
    [
        (
            f"arn:aws:lambda:{REGION}:999999999999:function:elsewhere",
            FUNCTIONS_DIR,
            "is not a Lambda function ARN in eu-west-1 of account 123456789012",
        ),
        (None, FUNCTIONS_DIR / "missing", "runtime_functions/missing does not exist"),
    ],
    ids=["foreign-arn", "missing-code-dir"],
)
def test_misconfigured_function_is_refused_with_a_clear_error(
    make_function: MakeFunction, arn: str | None, code_dir: Path, reason: str
) -> None:
    # Given
    function = make_function("echo.handler", code_dir=code_dir)
    if arn is not None:
        function = dataclasses.replace(function, arn=arn)
    logs = FunctionLogs(console=None, endpoint_url=None, region=REGION)

    # When / Then
    with pytest.raises(ValueError, match=re.escape(reason)):
        LambdaRuntime(
            {function.logical_id: function}, endpoint_url=None, region=REGION, account_id=ACCOUNT_ID, output=logs
        )


@pytest.mark.parametrize(
    "line",
    ["plain text", '{"level": "INFO", "message": "no metrics"}', '{"_aws": {"Timestamp": 1}}', "{not json _aws"],
)
def test_lines_that_declare_no_metrics_publish_none(line: str) -> None:
    assert metric_data_from_emf(line) == []


@pytest.mark.parametrize(
    ("members", "unit", "reason"),
    [
        ({"Orders": 1}, "Count", "dimension 'service' must be a non-empty string member"),
        ({"service": "orders", "Orders": "one"}, "Count", "metric 'Orders' must be a finite number"),
        ({"service": "orders", "Orders": 1}, "Pieces", "unit 'Pieces', which CloudWatch does not know"),
    ],
)
def test_emf_line_breaking_the_specification_is_rejected_with_the_reason(
    members: dict[str, object], unit: str, reason: str
) -> None:
    # Given
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": 1_700_000_000_000,
                "CloudWatchMetrics": [
                    {"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders", "Unit": unit}]}
                ],
            },
            **members,
        }
    )

    # When / Then
    with pytest.raises(InvalidEmfError, match=re.escape(reason)):
        metric_data_from_emf(line)
